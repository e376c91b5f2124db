// What the daemon's tests share: the fresh-system case (its kernel state,
// a copy of its config to edit) and nftables events as the kernel
// multicasts them.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <endian.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "backends/netlink.hpp"
#include "daemon/loop.hpp"
#include "model/actual_json.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "fresh_system.hpp"

namespace netkeep::test {

// The port id of netkeep's own nftables commits, in these tests.
constexpr uint32_t kOwnPort = 4242;

// The kernel calls the loop makes besides reads and writes, recorded;
// `Base`: DaemonKernel, or an interface that extends it.
template <class Base = DaemonKernel>
struct FakeDaemonKernel : Base {
  explicit FakeDaemonKernel(const FakeKernel& k) : kernel(k) {}
  std::string name_of(int i) const override {
    const auto& l = kernel.state().links;
    return i >= 1 && static_cast<size_t>(i) <= l.size() ? l[i - 1].name : "";
  }
  uint32_t nft_portid() const override { return kOwnPort; }
  void nft_forget_view() override { forgot++; }
  void nft_view_passed(uint32_t gen) override { passed.push_back(gen); }
  void nft_accept_race() override { accepted++; }
  const FakeKernel& kernel;
  int forgot = 0, accepted = 0;
  std::vector<uint32_t> passed;
};

// The fresh-system case's config, copied so a test can edit it.
struct ConfigDir {
  explicit ConfigDir(const std::string& name = "loop") {
    dir = std::filesystem::temp_directory_path() /
          ("netkeep-" + name + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::copy(std::filesystem::path(NETKEEP_TESTDATA) / "fresh-system/config", dir,
                          std::filesystem::copy_options::recursive);
  }
  ~ConfigDir() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
  std::filesystem::path dir;
};

// An nftables event: a table message, or the NEWGEN that ends a
// transaction; `port` is the committing socket's.
inline nl::Message nft_table_event(uint8_t family, const char* table, uint32_t port) {
  nl::Message m((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE, 0);
  m.put_header<nfgenmsg>()->nfgen_family = family;
  mnl_attr_put_strz(m.hdr(), NFTA_TABLE_NAME, table);
  m.hdr()->nlmsg_pid = port;
  return m;
}

inline nl::Message nft_gen_event(uint32_t gen, uint32_t port) {
  nl::Message m((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN, 0);
  m.put_header<nfgenmsg>()->nfgen_family = AF_UNSPEC;
  mnl_attr_put_u32(m.hdr(), NFTA_GEN_ID, htobe32(gen));
  m.hdr()->nlmsg_pid = port;
  return m;
}

}  // namespace netkeep::test
