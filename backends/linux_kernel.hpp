// The Linux backend: reads the Actual snapshot (one dump each for links,
// addresses and routes; sysctls; files) and performs ops over rtnetlink.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "backends/flow_index.hpp"
#include "backends/netlink.hpp"
#include "backends/sysctl.hpp"
#include "backends/nft_kernel.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep {

// Requests sent, for `apply --stats` and the benchmarks.
struct KernelStats {
  uint64_t rtnl_reads = 0, rtnl_writes = 0;  // dumps and gets; write requests
  uint64_t nft_reads = 0, nft_writes = 0;  // dump and gen requests; batch messages incl. begin/end
  uint64_t other_writes = 0;               // sysctls, files, generic netlink, conntrack deletes
  uint64_t conntrack = 0;                  // ctnetlink requests: dumps and deletes
};

class LinuxKernel : public KernelReader, public KernelWriter {
 public:
  KernelStats stats() const;
  // `root` is where files such as tmp/resolv.conf live (--root).
  static KernelResult<std::unique_ptr<LinuxKernel>> open(std::filesystem::path root);

  void scope(const Desired& d) override;
  KernelResult<Actual> snapshot() override;
  std::optional<KernelError> apply(const Op& op) override;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override;
  // Sends the nftables ops as a batch without its end: the kernel checks
  // every message and commits nothing.
  std::vector<NftError> check_nft(const std::vector<const Op*>& ops) {
    return nft_->send(ops, false);
  }
  uint64_t writes() const override { return writes_ + nft_->messages_sent(); }
  uint64_t flows_ended(uint8_t proto) const override {
    return proto == 6 ? ended_tcp_ : ended_udp_;
  }
  std::vector<std::optional<KernelError>> end_flows(
      const std::vector<const FlowsEnd*>& ops) override;
  // From now on, end_flows() finds entries in a FlowTracker's index
  // instead of a dump (the daemon; flow_index.hpp). Returns it, for its
  // event fd, or why it could not subscribe (then dumps go on).
  KernelResult<FlowTracker*> track_flows();
  uint64_t flow_dumps() const { return flows_ ? flows_->dumps() : 0; }
  // How many conntrack entries each of `ops` would end now (for `plan`).
  KernelResult<std::vector<uint64_t>> count_flows(const std::vector<const FlowsEnd*>& ops);
  // The name of a link by ifindex, as of the last snapshot and the writes since.
  std::string name_of(int ifindex) const;
  KernelResult<std::vector<NftCounter>> read_counters() { return nft_->read_counters(); }
  NftKernel& nft() { return *nft_; }
  // What `netkeep doctor` reads beyond the snapshot (reconciler/doctor.hpp).
  KernelResult<Survey> survey();

  // Loads the nftables view (see nft_view.hpp) kept in `file`, if it is of
  // this boot and network namespace; save_view() writes it back.
  void load_view(std::filesystem::path file);
  // Writes the view if it changed since load_view(), or removes the file
  // when there is none. A failure is for a warning.
  std::optional<KernelError> save_view();
  uint64_t requests() const {
    return rtnl_->requests_sent() + nft_->requests() + (ct_ ? ct_->requests_sent() : 0);
  }  // reads and writes

 private:
  LinuxKernel(std::unique_ptr<nl::Socket> rtnl, std::unique_ptr<NftKernel> nft,
              std::filesystem::path root)
      : rtnl_(std::move(rtnl)), nft_(std::move(nft)), root_(std::move(root)) {}
  std::optional<KernelError> snapshot_once(Actual& a);
  std::optional<KernelError> write(nl::Message m);
  KernelResult<int> index_of(const std::string& name);
  std::optional<KernelError> apply_link(const Op& op);
  std::optional<KernelError> apply_genl(const Op& op);
  // A generic netlink family's id, resolved once; ENOENT: the kernel lacks it.
  KernelResult<uint16_t> family(const char* name, std::optional<uint16_t>& cache);
  void snapshot_genl(Actual& a);

  std::unique_ptr<nl::Socket> rtnl_;
  std::unique_ptr<NftKernel> nft_;
  std::filesystem::path root_;
  std::map<std::string, int> ifindex_;  // from the snapshot, kept current by renames
  sysctl::Reader sysctls_;              // the snapshot's, kept open
  std::unique_ptr<nl::Socket> genl_;    // opened on first use
  std::unique_ptr<nl::Socket> ct_;      // ctnetlink, opened on the first FlowsEnd
  std::unique_ptr<FlowTracker> flows_;  // the daemon's (track_flows)
  KernelResult<nl::Socket*> conntrack_socket();
  uint64_t ended_tcp_ = 0, ended_udp_ = 0;
  std::optional<uint16_t> wg_family_, ethtool_family_;
  std::set<std::string> fec_names_;  // links whose FEC the config sets, by name
  std::set<Mac> fec_macs_;           // ... or by MAC
  uint64_t writes_ = 0;
  uint64_t rtnl_writes_ = 0;
  std::filesystem::path view_file_;
  std::string view_identity_;
  std::optional<uint32_t> loaded_gen_;  // the generation of the view as loaded
};

}  // namespace netkeep
