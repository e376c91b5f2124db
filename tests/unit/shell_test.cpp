// The daemon's shell (daemon/shell.hpp) with fake sources and a fake
// kernel: which source's events reach the loop and how, what the
// nftables backend's questions read, signals, metrics and the confirm
// checks' thread. Real time, on the shell's own io_context; the sources
// are pipes, so no socket is opened and no namespace is needed.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>

#include "backends/rtnl_addr.hpp"
#include "daemon/shell.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "daemon_fixture.hpp"
#include "log_lines.hpp"

using namespace netkeep;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A source the test fills: messages queued, an overrun, or plain events
// (a config source's); readable once poked.
struct FakeSource : Watch {
  FakeSource() { REQUIRE(pipe2(pipe_, O_NONBLOCK | O_CLOEXEC) == 0); }
  ~FakeSource() override {
    close(pipe_[0]);
    close(pipe_[1]);
  }
  int fd() const override { return broken.empty() ? pipe_[0] : -1; }
  const std::string& error() const override { return broken; }
  Drained drain(const Relevant& relevant) override {
    drains++;
    char b[64];
    while (read(pipe_[0], b, sizeof b) > 0) {
    }
    Drained d;
    d.overrun = std::exchange(overrun, false);
    d.events = std::exchange(events, 0);
    for (auto& m : queued)
      if (relevant(reinterpret_cast<const nlmsghdr*>(m.data()))) d.events++;
    queued.clear();
    return d;
  }
  void reserve(size_t bytes) override { reserved = bytes; }

  void queue(nl::Message m) {
    const auto* p = reinterpret_cast<const char*>(m.hdr());
    queued.emplace_back(p, p + m.hdr()->nlmsg_len);
  }
  void poke() { REQUIRE(write(pipe_[1], "x", 1) == 1); }

  std::vector<std::vector<char>> queued;
  int events = 0;
  bool overrun = false;
  std::string broken;  // an error: the source could not be opened
  int drains = 0;
  size_t reserved = 0;

 private:
  int pipe_[2] = {-1, -1};
};

struct FakeShellKernel : test::FakeDaemonKernel<ShellKernel> {
  explicit FakeShellKernel(FakeKernel& k) : FakeDaemonKernel(k), fake(k) {}
  KernelReader& reader() override { return fake; }
  KernelWriter& writer() override { return fake; }
  void follow_nft_events(Watch* w) override { followed = w; }
  KernelResult<Watch*> track_flows() override {
    if (flows_error) return unexpected(*flows_error);
    return &flows;
  }
  KernelResult<std::vector<NftCounter>> read_counters() override { return counters; }
  KernelResult<std::vector<NftMap>> read_forwarding_counters() override {
    return std::vector<NftMap>{};
  }
  KernelResult<std::vector<NftKeySet>> read_pinhole_counters() override {
    if (pinholes_error) return unexpected(*pinholes_error);
    return std::vector<NftKeySet>{};
  }
  uint64_t nft_full_dumps() const override { return 7; }
  uint64_t flow_dumps() const override { return 3; }

  FakeKernel& fake;
  Watch* followed = nullptr;
  FakeSource flows;
  std::optional<KernelError> flows_error, pinholes_error;
  std::vector<NftCounter> counters;
};

struct Harness {
  test::ConfigDir config{"shell"};
  FakeKernel kernel{test::fresh_system()};
  FakeShellKernel shell_kernel{kernel};
  FakeSource *config_src = nullptr, *rtnl_src = nullptr, *nft_src = nullptr;
  test::LogLines log;
  std::unique_ptr<Shell> shell;

  explicit Harness(const std::function<void(Harness&, DaemonOptions&)>& tweak = {}) {
    DaemonOptions o;
    o.config = config.dir;
    o.root = config.dir / "root";
    ShellSources s;
    s.config = std::make_unique<FakeSource>();
    s.rtnl = std::make_unique<FakeSource>();
    s.nft = std::make_unique<FakeSource>();
    config_src = static_cast<FakeSource*>(s.config.get());
    rtnl_src = static_cast<FakeSource*>(s.rtnl.get());
    nft_src = static_cast<FakeSource*>(s.nft.get());
    if (tweak) tweak(*this, o);
    shell = std::make_unique<Shell>(o, shell_kernel, std::move(s), log.sink());
  }
  // Runs the shell until `done` holds, for at most `limit`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until && !shell->stopped())
      shell->run_one_for(10ms);
    return done();
  }
  // Runs it for `d`, whatever happens.
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
  uint64_t reconciles() const { return shell->loop().reconciles(); }
  void converge() {
    REQUIRE_FALSE(shell->start());
    REQUIRE(run_until([&] { return reconciles() == 1; }));
  }
  int lan0() const {
    const auto& l = kernel.state().links;
    for (size_t i = 0; i < l.size(); i++)
      if (l[i].name == "lan0") return static_cast<int>(i + 1);
    return 0;
  }
  const Address& owned_address() const {
    for (const auto& a : kernel.state().addrs)
      if (a.local == *Prefix::parse("10.10.0.1/24")) return a;
    FAIL("no 10.10.0.1/24 in the fresh system");
    throw;
  }
};

}  // namespace

TEST_CASE("shell: each source's events reach the loop, judged by the loop's own rules") {
  Harness h;
  h.converge();
  CHECK(h.log.has("asked for by start"));

  // The config files: their source counts its events itself.
  h.config_src->events = 1;
  h.config_src->poke();
  CHECK(h.run_until([&] { return h.reconciles() == 2; }));
  CHECK(h.log.has("asked for by config"));

  // rtnetlink: an owned address announced again cannot change the plan;
  // its deletion can.
  auto same = rtnl::encode_addr_replace(h.lan0(), h.owned_address());
  h.rtnl_src->queue(std::move(same));
  h.rtnl_src->poke();
  CHECK(h.run_until([&] { return h.rtnl_src->drains == 1; }));
  h.run_for(100ms);
  CHECK(h.reconciles() == 2);
  auto del = rtnl::encode_addr_replace(h.lan0(), h.owned_address());
  del.hdr()->nlmsg_type = RTM_DELADDR;
  h.rtnl_src->queue(std::move(del));
  h.rtnl_src->poke();
  CHECK(h.run_until([&] { return h.reconciles() == 3; }));
  CHECK(h.log.has("asked for by rtnetlink: deleted address 10.10.0.1/24 dev lan0"));

  // nftables: netkeep's own commit moves the view along; another
  // program's commit on an owned table asks for a reconcile.
  h.nft_src->queue(test::nft_table_event(NFPROTO_IPV4, "nat", test::kOwnPort));
  h.nft_src->queue(test::nft_gen_event(7, test::kOwnPort));
  const int drains = h.nft_src->drains;  // (each reconcile reads them too)
  h.nft_src->poke();
  CHECK(h.run_until([&] { return h.nft_src->drains == drains + 1; }));
  h.run_for(100ms);
  CHECK(h.reconciles() == 3);
  CHECK(h.shell_kernel.passed == std::vector<uint32_t>{7});
  h.nft_src->queue(test::nft_table_event(NFPROTO_IPV4, "nat", 999));
  h.nft_src->queue(test::nft_gen_event(8, 999));
  h.nft_src->poke();
  CHECK(h.run_until([&] { return h.reconciles() == 4; }));
  CHECK(h.log.has("asked for by nftables: nft ip nat"));

  // An overrun of any source is a resync.
  h.rtnl_src->overrun = true;
  h.rtnl_src->poke();
  CHECK(h.run_until([&] { return h.reconciles() == 5; }));
  CHECK(h.log.has("rtnetlink: events were lost (overrun); resyncing in full"));
}

TEST_CASE("shell: queued nftables events are read before each snapshot and judge its races") {
  Harness h;
  h.converge();
  REQUIRE(h.shell_kernel.followed == h.nft_src);
  auto config_changed = [&] {
    h.config_src->events = 1;
    h.config_src->poke();
  };
  // Events queued but not yet read (the socket not polled since): they
  // are read, and move the view along, before the snapshot.
  h.nft_src->queue(test::nft_table_event(NFPROTO_IPV4, "docker", 999));
  h.nft_src->queue(test::nft_gen_event(5, 999));
  std::vector<uint32_t> passed_then;
  h.kernel.fail_snapshot = [&]() -> std::optional<KernelError> {
    passed_then = h.shell_kernel.passed;
    return std::nullopt;
  };
  config_changed();
  CHECK(h.run_until([&] { return h.reconciles() == 2; }));
  CHECK(passed_then == std::vector<uint32_t>{5});

  // A read that raced another program's commit, announced by the events
  // read after it: the commit touched nothing owned, so what was read
  // stands and the kernel is read again (from the view: no dump).
  auto race_with = [&](uint32_t gen, const char* table) {
    int reads = 0;
    h.kernel.fail_snapshot = [&h, &reads, gen, table]() -> std::optional<KernelError> {
      if (reads++) return std::nullopt;
      h.nft_src->queue(test::nft_table_event(NFPROTO_IPV4, table, 999));
      h.nft_src->queue(test::nft_gen_event(gen, 999));
      KernelError e{EAGAIN, "raced"};
      e.race = NftRace{gen - 1, gen};
      return e;
    };
    config_changed();
    const uint64_t n = h.reconciles() + 1;
    CHECK(h.run_until([&] { return h.reconciles() == n; }));
    CHECK(reads == 2);
  };
  race_with(6, "docker");
  CHECK(h.shell_kernel.accepted == 1);
  // One that touched an owned table is not accepted: read again in full.
  race_with(7, "nat");
  CHECK(h.shell_kernel.accepted == 1);
  CHECK(h.log.has("reconcile 4"));
  CHECK_FALSE(h.log.has("error"));

  // Lost events forget the view; what they ask for is this very
  // reconcile, so no other follows.
  h.kernel.fail_snapshot = nullptr;
  h.nft_src->overrun = true;
  config_changed();
  CHECK(h.run_until([&] { return h.reconciles() == 5; }));
  CHECK(h.shell_kernel.forgot == 1);
  CHECK(h.log.has("nftables: events were lost (overrun); resyncing in full"));
  h.run_for(100ms);
  CHECK(h.reconciles() == 5);

  // Gone with the shell: the backend follows nobody.
  h.shell.reset();
  CHECK(h.shell_kernel.followed == nullptr);
}

TEST_CASE("shell: conntrack events are read as they come and never start a reconcile") {
  Harness h;
  h.converge();
  h.shell_kernel.flows.events = 1;
  h.shell_kernel.flows.poke();
  CHECK(h.run_until([&] { return h.shell_kernel.flows.drains == 1; }));
  h.shell_kernel.flows.poke();
  CHECK(h.run_until([&] { return h.shell_kernel.flows.drains == 2; }));
  h.run_for(100ms);
  CHECK(h.reconciles() == 1);
}

TEST_CASE("shell: a source it cannot have is said at start, and the rest goes on") {
  Harness h([](Harness& t, DaemonOptions&) {
    t.rtnl_src->broken = "opening a NETLINK_ROUTE socket: Permission denied";
    t.shell_kernel.flows_error = KernelError{EPERM, "Operation not permitted", "ctnetlink"};
  });
  h.converge();
  CHECK(
      h.log.has("warning: opening a NETLINK_ROUTE socket: Permission denied; changes from "
                "there are caught by the periodic resync"));
  CHECK(h.log.has("; a changed forwarding reads the conntrack table in full"));
  h.config_src->events = 1;
  h.config_src->poke();
  CHECK(h.run_until([&] { return h.reconciles() == 2; }));
  CHECK(h.rtnl_src->drains == 0);
}

TEST_CASE("shell: SIGHUP and SIGUSR1 ask for a reconcile; SIGTERM stops it, the network as it is") {
  Harness h;
  h.converge();
  REQUIRE(raise(SIGHUP) == 0);
  CHECK(h.run_until([&] { return h.reconciles() == 2; }));
  CHECK(h.log.has("asked for by signal"));
  REQUIRE(raise(SIGUSR1) == 0);
  CHECK(h.run_until([&] { return h.reconciles() == 3; }));
  const auto writes = h.kernel.writes();
  REQUIRE(raise(SIGTERM) == 0);
  CHECK(h.run_until([&] { return h.shell->stopped(); }));
  CHECK(h.log.has("signal 15: stopping; the network stays as it is"));
  CHECK(h.kernel.writes() == writes);
}

TEST_CASE("shell: GET /metrics reads the kernel's counters and says which read failed") {
  Harness h;
  h.shell_kernel.counters.push_back(NftCounter{NftFamily::ip, "filter", "fwded", 12, 3456});
  h.shell_kernel.pinholes_error = KernelError{EIO, "Input/output error", "dumping sets"};
  h.converge();
  const std::string text = h.shell->render_metrics();
  CHECK(text.find("netkeep_conntrack_dumps_total 3\n") != std::string::npos);
  CHECK(text.find("netkeep_nftables_dumps_total 7\n") != std::string::npos);
  CHECK(text.find("nftables_filter_forward_bytes{family=\"ipv4\"} 3456\n") != std::string::npos);
  CHECK(text.find("netkeep_reconciles_total{result=\"ok\"} 1") != std::string::npos);
  CHECK(h.log.has("metrics: reading the pinholes: "));
  CHECK_FALSE(h.log.has("metrics: reading counters"));
}

TEST_CASE("shell: a metrics address it cannot listen on stops it at start") {
  Harness h([](Harness&, DaemonOptions& o) { o.metrics = "10.10.0.1"; });
  auto failed = h.shell->start();
  REQUIRE(failed);
  CHECK(*failed == 1);
  CHECK(h.log.has("error: --metrics 10.10.0.1: expected HOST:PORT"));
  CHECK(h.reconciles() == 0);
}

TEST_CASE("shell: run --confirm runs the checks on their own thread and hears back on its own") {
  Harness h([](Harness&, DaemonOptions& o) {
    o.confirm = 2s;
    auto check = parse_check("exec:true");
    REQUIRE(check);
    check->timeout = 1s;
    o.checks.push_back(*check);
  });
  h.converge();
  CHECK(h.log.has("confirm: the config is now the last good one (the first config applied)"));
  h.config.write(
      "portforwardings.json",
      R"({"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]})");
  h.config_src->events = 1;
  h.config_src->poke();
  CHECK(h.run_until([&] { return h.log.has("confirm: the new config must pass its checks"); }));
  CHECK(h.run_until([&] { return h.log.has("every check passed 3 times in a row"); }, 10s));
  CHECK(h.log.has("confirm: check exec:true: passes"));
}
