// Undoing a change (reconciler/restore.hpp): every golden case's plan is
// applied to a fake kernel and undone; the fake kernel must then hold the
// recorded snapshot again, and undoing once more must find nothing to do.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/actual_json.hpp"
#include "model/config.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/restore.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "values.hpp"

namespace fs = std::filesystem;
using namespace netkeep;
using namespace netkeep::test;

namespace {

// What a rollback restores: all but WireGuard devices and FEC, and the
// nftables tables and counters a change created (they stay, empty).
Actual restorable(Actual a, const Actual& before) {
  a.wireguard.clear();
  a.fec.clear();
  std::erase_if(a.nft.tables,
                [&](const NftTable& t) { return !before.nft.has_table(t.family, t.name); });
  std::erase_if(a.nft.counters, [&](const NftCounter& c) {
    return !before.nft.counter(c.family, c.table, c.name);
  });
  a.normalize();
  return a;
}

const auto kNoSymlink = [](const std::string&) { return std::string(); };

}  // namespace

TEST_CASE("restore: every golden case's change is undone exactly, and undoing is idempotent") {
  int undone = 0;
  for (const auto& e : fs::directory_iterator(NETKEEP_TESTDATA)) {
    const fs::path dir = e.path();
    // WireGuard devices are not restored (restore.hpp).
    if (!fs::exists(dir / "actual.json") || fs::exists(dir / "config/wireguard.json")) continue;
    INFO("case ", dir.filename().string());
    Diagnostics diags;
    Desired desired = load_config(dir / "config", diags);
    auto before = actual_from_json(slurp(dir / "actual.json"));
    REQUIRE(before.has_value());
    const Plan p = plan(desired, *before);
    FakeKernel kernel(*before);
    REQUIRE(execute(p, kernel).ok());

    // As the journal keeps them: both through their JSON.
    auto touched = touched_from_json(to_json(touched_by(p.ops, *before, kNoSymlink)));
    REQUIRE(touched.has_value());
    CHECK(*touched == touched_by(p.ops, *before, kNoSymlink));
    auto kept = actual_from_json(to_json(*before));
    REQUIRE(kept.has_value());

    const Plan undo = restore(*kept, *touched, kernel.state());
    CHECK(p.empty() == undo.empty());
    ExecResult r = execute(undo, kernel);
    CHECK_MESSAGE(r.ok(), to_text(undo));
    CHECK_MESSAGE(restorable(kernel.state(), *before) == restorable(*before, *before), "undo:\n",
                  to_text(undo), "\nleft:\n", to_json(restorable(kernel.state(), *before)));
    const Plan again = restore(*kept, *touched, kernel.state());
    CHECK_MESSAGE(again.empty(), "undo again:\n", to_text(again));
    // And the plan against the config is the same as before the change,
    // but for the tables and counters that stay.
    Plan expected = p;
    std::erase_if(expected.ops, [](const Op& op) {
      return std::holds_alternative<NftTableAdd>(op) || std::holds_alternative<NftCounterAdd>(op);
    });
    CHECK(to_text(plan(desired, kernel.state())) == to_text(expected));
    if (!p.empty()) undone++;
  }
  CHECK(undone >= 10);
}

TEST_CASE("restore: only what the change touched; another program's change since stays") {
  Actual before;
  before.links = {{"lan0", "bridge", *Mac::parse("02:00:00:00:00:aa"), 1500, true, ""},
                  {"eth1", "veth", *Mac::parse("02:00:00:00:00:bb"), 1500, false, ""}};
  before.addrs = {{"lan0", pre("10.10.0.1/24"), ip("10.10.0.255"), kAddrProtoInterfaces}};
  before.sysctls = {{"net/ipv4/ip_forward", "1"}, {"net/ipv6/conf/all/forwarding", "1"}};
  before.files = {{"/tmp/resolv.conf", {FileKind::symlink, {}}}};
  FakeKernel kernel(before);
  const std::vector<Op> change = {
      LinkRename{"eth1", "uplink0", *Mac::parse("02:00:00:00:00:bb")},
      LinkSetMtu{"uplink0", 1500, 9000},
      LinkSetMaster{"uplink0", "lan0"},
      LinkSetUp{"uplink0"},
      AddrDel{{"lan0", pre("10.10.0.1/24"), ip("10.10.0.255"), kAddrProtoInterfaces}, ""},
      AddrAdd{{"lan0", pre("10.10.1.1/24"), ip("10.10.1.255"), kAddrProtoInterfaces}},
      SysctlSet{"net/ipv4/ip_forward", "1", "0"},
      FileWrite{"/tmp/resolv.conf", "nameserver 10.10.1.1\n", FileKind::symlink}};
  for (const auto& op : change) REQUIRE(!kernel.apply(op));
  // Another program, meanwhile: a sysctl and an address netkeep did not touch.
  kernel.state().sysctls["net/ipv6/conf/all/forwarding"] = "0";
  kernel.state().addrs.push_back({"lan0", pre("192.0.2.1/32"), std::nullopt, 0});
  kernel.state().normalize();

  const Touched t =
      touched_by(change, before, [](const std::string&) { return "/run/resolv.conf"; });
  CHECK(t.links == std::vector<Touched::Link>{{"eth1", "uplink0"}});
  const Plan undo = restore(before, t, kernel.state());
  CHECK(to_text(undo) ==
        "- addr 10.10.1.1/24 brd 10.10.1.255 dev lan0  (not there before)\n"
        "~ link uplink0 (02:00:00:00:00:bb): rename -> eth1\n"
        "~ link eth1: mtu 9000 -> 1500\n"
        "~ link eth1: nomaster\n"
        "~ link eth1: down\n"
        "+ addr 10.10.0.1/24 brd 10.10.0.255 dev lan0\n"
        "~ sysctl net.ipv4.ip_forward: 0 -> 1\n"
        "~ file /tmp/resolv.conf: symlink -> /run/resolv.conf\n");
  REQUIRE(execute(undo, kernel).ok());
  CHECK(kernel.state().sysctls.at("net/ipv6/conf/all/forwarding") == "0");
  CHECK(std::count_if(kernel.state().addrs.begin(), kernel.state().addrs.end(),
                      [](const Address& a) { return a.local == pre("192.0.2.1/32"); }) == 1);
  CHECK(restore(before, t, kernel.state()).empty());
}

TEST_CASE("restore: a file someone else rewrote since is left alone; a link created is deleted") {
  Actual before;
  before.links = {{"eth0", "veth", *Mac::parse("02:00:00:00:00:01"), 1500, true, ""}};
  FakeKernel kernel(before);
  const std::vector<Op> change = {BridgeCreate{"lan0", *Mac::parse("02:00:00:00:00:aa")},
                                  LinkSetMaster{"eth0", "lan0"},
                                  FileWrite{"/tmp/resolv.conf", "nameserver 10.10.0.1\n"}};
  for (const auto& op : change) REQUIRE(!kernel.apply(op));
  kernel.state().files["/tmp/resolv.conf"].content = "nameserver 9.9.9.9\n";  // tailscale, say
  const Touched t = touched_by(change, before, kNoSymlink);
  CHECK(t.created_links == std::vector<std::string>{"lan0"});
  const Plan undo = restore(before, t, kernel.state());
  CHECK(to_text(undo) == "~ link eth0: nomaster\n- link lan0\n");
  REQUIRE(execute(undo, kernel).ok());
  CHECK(kernel.state().files.at("/tmp/resolv.conf").content == "nameserver 9.9.9.9\n");
  CHECK(!kernel.state().link("lan0"));
}

TEST_CASE("restore: a damaged journal entry is refused") {
  CHECK(!touched_from_json("{}").has_value());
  CHECK(!touched_from_json("[").has_value());
  auto t = touched_from_json(to_json(Touched{}));
  REQUIRE(t.has_value());
  CHECK(t->empty());
}
