// The daemon loop against the fake kernel and a manual clock: when it
// reconciles, retries and ignores, with no socket and no sleep.
#include <doctest/doctest.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "backends/netlink.hpp"
#include "backends/rtnl_addr.hpp"
#include "daemon/loop.hpp"
#include "model/actual_json.hpp"
#include "tests/fake/fake_clock.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "daemon_fixture.hpp"
#include "log_lines.hpp"

using namespace netkeep;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::ConfigDir;
using test::FakeDaemonKernel;
using test::fresh_system;
using test::kOwnPort;
using test::nft_gen_event;
using test::nft_table_event;

namespace {

struct Harness {
  ConfigDir config;
  FakeKernel kernel{fresh_system()};
  FakeDaemonKernel<> daemon_kernel{kernel};
  ManualClock clock;
  test::LogLines log;
  int ready = 0, changed = 0;
  Loop loop{LoopOptions{config.dir, 300s, 0s, nullptr, {}},
            kernel,
            kernel,
            daemon_kernel,
            clock,
            hooks()};

  LoopHooks hooks() {
    LoopHooks h;
    h.log = log.sink();
    h.ready = [this] { ready++; };
    h.changed = [this] { changed++; };
    return h;
  }
  bool logged(std::string_view part) const { return log.has(part); }
  // Starts and lets the first reconcile run.
  void converge() {
    loop.start();
    clock.advance(Loop::kQuiet);
    REQUIRE(loop.reconciles() == 1);
    REQUIRE(loop.backoff() == 0s);
  }
};

// One transaction's events, drained as the nftables watch drains them.
void nft_commit(Loop& loop, uint8_t family, const char* table, uint32_t gen, uint32_t port) {
  Drained d;
  d.events += loop.nft_event(nft_table_event(family, table, port).hdr());
  d.events += loop.nft_event(nft_gen_event(gen, port).hdr());
  loop.drained("nftables", d);
}

}  // namespace

TEST_CASE("loop: the first reconcile runs after the quiet period and converges") {
  Harness h;
  h.loop.start();
  h.clock.advance(Loop::kQuiet - 1ms);
  CHECK(h.loop.reconciles() == 0);
  h.clock.advance(1ms);
  CHECK(h.loop.reconciles() == 1);
  CHECK(h.ready == 1);
  CHECK(h.changed == 1);
  CHECK(h.logged("asked for by start"));
  CHECK(h.kernel.state().sysctls.at("net/ipv4/ip_forward") == "1");
}

TEST_CASE("loop: a burst of events costs one reconcile") {
  Harness h;
  h.converge();
  const uint64_t snapshots = h.kernel.snapshots();
  for (int i = 0; i < 20; i++) {  // 200 ms of events, 10 ms apart
    h.loop.trigger(i % 2 ? "config" : "rtnetlink");
    h.clock.advance(10ms);
  }
  CHECK(h.loop.reconciles() == 1);
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 2);
  CHECK(h.kernel.snapshots() == snapshots + 1);
  CHECK(h.logged("asked for by config,rtnetlink"));
  h.clock.advance(10s);
  CHECK(h.loop.reconciles() == 2);
  CHECK(h.ready == 1);    // once
  CHECK(h.changed == 1);  // the second reconcile found nothing to do
}

TEST_CASE("loop: a steady stream of events defers a reconcile by kMaxDefer at most") {
  Harness h;
  h.converge();
  h.loop.trigger("nftables");
  for (auto t = 0ms; t < Loop::kMaxDefer - 10ms; t += 10ms) {
    h.clock.advance(10ms);
    h.loop.trigger("nftables");
  }
  CHECK(h.loop.reconciles() == 1);
  h.clock.advance(10ms);
  CHECK(h.loop.reconciles() == 2);
}

TEST_CASE("loop: a failed reconcile is retried with backoff doubling to 60 s, reset on success") {
  Harness h;
  bool refusing = true;
  h.kernel.refuse = [&](const Op& op) -> std::optional<KernelError> {
    if (refusing && std::holds_alternative<SysctlSet>(op)) return KernelError{EPERM, "refused"};
    return std::nullopt;
  };
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  REQUIRE(h.loop.reconciles() == 1);
  CHECK(h.loop.backoff() == 1s);
  CHECK(h.logged("retrying in 1 s"));
  for (auto expect : {2s, 4s, 8s, 16s, 32s, 60s, 60s}) {
    const uint64_t n = h.loop.reconciles();
    h.clock.advance(h.loop.backoff() - 1ms);
    CHECK(h.loop.reconciles() == n);
    h.clock.advance(1ms + Loop::kQuiet);
    CHECK(h.loop.reconciles() == n + 1);
    CHECK(h.loop.backoff() == expect);
  }
  CHECK(h.logged("asked for by retry"));
  refusing = false;
  h.clock.advance(60s + Loop::kQuiet);
  CHECK(h.loop.backoff() == 0s);
  CHECK(h.kernel.state().sysctls.at("net/ipv4/ip_forward") == "1");
  // Another failure starts again from the smallest step.
  refusing = true;
  h.kernel.state().sysctls["net/ipv4/ip_forward"] = "0";
  h.loop.trigger("rtnetlink");
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.backoff() == 1s);
}

TEST_CASE("loop: a new event retries at once instead of waiting out the backoff") {
  Harness h;
  h.kernel.refuse = [&](const Op& op) -> std::optional<KernelError> {
    if (std::holds_alternative<SysctlSet>(op)) return KernelError{EPERM, "refused"};
    return std::nullopt;
  };
  h.loop.start();
  for (int i = 0; i < 4; i++) h.clock.advance(h.loop.backoff() + Loop::kQuiet);
  REQUIRE(h.loop.backoff() == 8s);
  const uint64_t n = h.loop.reconciles();
  h.kernel.refuse = nullptr;
  h.loop.trigger("config");
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == n + 1);
  CHECK(h.loop.backoff() == 0s);
  h.clock.advance(10s);  // the cancelled retry does not come back
  CHECK(h.loop.reconciles() == n + 1);
}

TEST_CASE("loop: rtnetlink events that cannot change the plan are ignored") {
  Harness h;
  h.converge();
  const Address* owned = nullptr;
  for (const auto& a : h.kernel.state().addrs)
    if (a.local == *Prefix::parse("10.10.0.1/24")) owned = &a;
  REQUIRE(owned);
  int lan0 = 0;
  for (size_t i = 0; i < h.kernel.state().links.size(); i++)
    if (h.kernel.state().links[i].name == "lan0") lan0 = static_cast<int>(i + 1);
  REQUIRE(lan0);

  // The events of the first reconcile's own writes are judged against the
  // state it planned from, so they cause one confirming round.
  Drained d;
  d.events += h.loop.rtnl_event(rtnl::encode_addr_replace(lan0, *owned).hdr());
  CHECK(d.events == 1);
  h.loop.drained("rtnetlink", d);
  h.clock.advance(Loop::kQuiet);
  REQUIRE(h.loop.reconciles() == 2);
  CHECK(h.logged("asked for by rtnetlink: new address 10.10.0.1/24 dev lan0"));

  // The owned address announced again (e.g. a flags change): nothing to do.
  d.events = h.loop.rtnl_event(rtnl::encode_addr_replace(lan0, *owned).hdr());
  CHECK(d.events == 0);
  h.loop.drained("rtnetlink", d);
  h.clock.advance(1s);
  CHECK(h.loop.reconciles() == 2);

  // Someone removed it: reconcile, and say why.
  auto del = rtnl::encode_addr_replace(lan0, *owned);
  del.hdr()->nlmsg_type = RTM_DELADDR;
  d.events = h.loop.rtnl_event(del.hdr());
  CHECK(d.events == 1);
  h.loop.drained("rtnetlink", d);
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 3);
  CHECK(h.logged("asked for by rtnetlink: deleted address 10.10.0.1/24 dev lan0"));
}

TEST_CASE("loop: own nftables commits and other programs' tables are ignored") {
  Harness h;
  h.converge();
  REQUIRE(h.daemon_kernel.passed.empty());

  // netkeep's own commit: the view already holds it.
  nft_commit(h.loop, NFPROTO_IPV4, "nat", 7, kOwnPort);
  // Another program's table: the view holds; it moves on to that generation.
  nft_commit(h.loop, NFPROTO_IPV4, "docker", 8, 999);
  h.clock.advance(1s);
  CHECK(h.loop.reconciles() == 1);
  CHECK(h.daemon_kernel.passed == std::vector<uint32_t>{7, 8});
  CHECK(h.loop.untouched(8, 8));
  CHECK_FALSE(h.loop.untouched(6, 8));  // generation 7 was netkeep's own: re-read

  // Another program touching an owned table: reconcile, and the view does
  // not pass over that generation.
  nft_commit(h.loop, NFPROTO_IPV4, "nat", 9, 999);
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 2);
  CHECK(h.daemon_kernel.passed == std::vector<uint32_t>{7, 8});
  CHECK_FALSE(h.loop.untouched(8, 9));
  CHECK(h.logged("asked for by nftables: nft ip nat"));
}

TEST_CASE("loop: lost nftables events and the periodic resync forget the view") {
  Harness h;
  h.converge();
  nft_commit(h.loop, NFPROTO_IPV4, "docker", 3, 999);
  REQUIRE(h.loop.untouched(3, 3));
  Drained lost;
  lost.overrun = true;
  h.loop.drained("nftables", lost);
  CHECK(h.daemon_kernel.forgot == 1);
  CHECK_FALSE(h.loop.untouched(3, 3));
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 2);
  CHECK(h.logged("nftables: events were lost (overrun)"));

  h.clock.advance(300s);
  CHECK(h.loop.reconciles() == 3);
  CHECK(h.daemon_kernel.forgot == 2);
  CHECK(h.logged("asked for by timer"));
}

TEST_CASE("loop: a bad config file is reported and not retried until it changes") {
  Harness h;
  h.config.write("interfaces.json", "{\"interfaces\": [{\"name\": 5}]}");
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 1);
  CHECK(h.logged("interfaces.json"));
  CHECK_FALSE(h.logged("retrying"));
  CHECK(h.loop.backoff() == 0s);
  h.clock.advance(120s);
  CHECK(h.loop.reconciles() == 1);
  CHECK(h.kernel.state().addrs.empty());  // nothing of the refused file was applied

  // Fixed: its inotify event brings the reconcile.
  h.config.write("interfaces.json",
                 R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "lan0",)"
                 R"( "addr": "10.10.0.1/24"}]})");
  h.loop.trigger("config");
  h.clock.advance(Loop::kQuiet);
  CHECK(h.loop.reconciles() == 2);
  bool added = false;
  for (const auto& a : h.kernel.state().addrs)
    added |= a.dev == "lan0" && a.local == *Prefix::parse("10.10.0.1/24");
  CHECK(added);
}
