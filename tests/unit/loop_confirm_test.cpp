// run --confirm: the daemon loop against the fake kernel and a manual
// clock, with checks whose results the test chooses.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "daemon/loop.hpp"
#include "model/actual_json.hpp"
#include "reconciler/plan.hpp"
#include "tests/fake/fake_clock.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "log_lines.hpp"
#include "values.hpp"

using namespace netkeep;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct NoDaemonKernel : DaemonKernel {
  std::string name_of(int) const override { return ""; }
  uint32_t nft_portid() const override { return 0; }
  void nft_forget_view() override {}
  void nft_view_passed(uint32_t) override {}
  void nft_accept_race() override {}
};

struct Dirs {
  Dirs() {
    base = fs::temp_directory_path() / ("netkeep-confirm-" + std::to_string(getpid()));
    fs::remove_all(base);
    fs::create_directories(base);
    fs::copy(fs::path(NETKEEP_TESTDATA) / "fresh-system/config", base / "config",
             fs::copy_options::recursive);
  }
  ~Dirs() { fs::remove_all(base); }
  fs::path base;
};

const char* kGood =
    R"({"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]})";
const char* kBad =
    R"({"forwardings": [{"port": "9090", "dest_addr": "10.10.0.66", "dest_port": "90"}]})";

struct Harness {
  Dirs dirs;
  fs::path config = dirs.base / "config";
  LastGood last_good{config, dirs.base / "last-good"};
  FakeKernel kernel{
      *actual_from_json(test::slurp(fs::path(NETKEEP_TESTDATA) / "fresh-system/actual.json"))};
  NoDaemonKernel daemon_kernel;
  ManualClock clock;
  test::LogLines log;
  bool checks_pass = true;
  int rounds = 0;
  Loop loop{LoopOptions{config, 300s, 10s, &last_good, {"tcp:10.10.0.23:22"}},
            kernel,
            kernel,
            daemon_kernel,
            clock,
            hooks()};

  LoopHooks hooks() {
    LoopHooks h;
    h.log = log.sink();
    h.check_round = [this](std::function<void(std::vector<CheckResult>)> done) {
      rounds++;
      done({{checks_pass, checks_pass ? "connected" : "Connection refused"}});
    };
    return h;
  }
  bool logged(std::string_view part) const { return log.has(part); }
  void edit(const char* forwardings) {
    std::ofstream(config / "portforwardings.json") << forwardings;
    loop.trigger("config");
    clock.advance(Loop::kQuiet);
  }
  // Whether the kernel holds what the config in `dir` declares.
  bool holds(const fs::path& dir) {
    Diagnostics d;
    return plan(load_config(dir, d), kernel.state()).empty();
  }
  std::string metrics() const { return loop.metrics().render({}); }
};

}  // namespace

TEST_CASE("run --confirm: the first config applied becomes the last good one") {
  Harness h;
  std::ofstream(h.config / "portforwardings.json") << kGood;
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  CHECK(h.last_good.kept() == h.last_good.fingerprint());
  CHECK(h.rounds == 0);  // nothing to compare it with: no window
  CHECK(h.logged("the config is now the last good one (the first config applied)"));
  CHECK(h.metrics().find("netkeep_last_good_timestamp_seconds 0.000") == std::string::npos);
  CHECK(fs::status(h.last_good.dir()).permissions() == fs::perms::owner_all);
  CHECK((fs::status(h.last_good.dir() / "portforwardings.json").permissions() &
         (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  CHECK(fs::is_symlink(h.last_good.dir() / "dhcp4"));  // leases are followed live
}

TEST_CASE("run --confirm: a new config whose checks pass 3 times in a row is kept") {
  Harness h;
  std::ofstream(h.config / "portforwardings.json") << kGood;
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  h.edit(kBad);  // not bad at all here: its checks pass
  CHECK(h.holds(h.config));
  CHECK(h.metrics().find("netkeep_confirm_pending 1") != std::string::npos);
  CHECK(h.rounds == 1);
  h.clock.advance(1s);
  CHECK(h.rounds == 2);
  CHECK(h.last_good.kept() != h.last_good.fingerprint());
  h.clock.advance(1s);
  CHECK(h.rounds == 3);
  CHECK(h.last_good.kept() == h.last_good.fingerprint());
  CHECK(h.logged("every check passed 3 times in a row"));
  CHECK(h.metrics().find("netkeep_confirm_pending 0") != std::string::npos);
  h.clock.advance(20s);
  CHECK(h.rounds == 3);  // the window is over
  CHECK(h.holds(h.config));
}

TEST_CASE("run --confirm: a failing check reverts to the last good config, which stays") {
  Harness h;
  std::ofstream(h.config / "portforwardings.json") << kGood;
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  const uint64_t before = h.loop.reconciles();
  h.checks_pass = false;
  h.edit(kBad);
  CHECK(h.holds(h.config));  // applied, waiting for its checks
  h.clock.advance(4s);
  CHECK(h.holds(h.config));  // not yet: a check has half the window to pass once
  h.clock.advance(1s + Loop::kQuiet);
  CHECK(h.logged("ROLLBACK to the last good config: check tcp:10.10.0.23:22 did not pass once"));
  CHECK(h.logged("(Connection refused)"));
  CHECK(h.holds(h.last_good.dir()));
  CHECK(!h.holds(h.config));
  CHECK(h.metrics().find("netkeep_rollbacks_total{reason=\"check\"} 1") != std::string::npos);
  CHECK(h.metrics().find("netkeep_confirm_pending 0") != std::string::npos);
  // Resyncs and kernel events hold the kernel to the last good config;
  // the bad files are not tried again.
  h.checks_pass = true;
  const int rounds = h.rounds;
  h.kernel.state().sysctls["net/ipv4/ip_forward"] = "0";
  h.loop.trigger("rtnetlink");
  h.clock.advance(Loop::kQuiet);
  CHECK(h.kernel.state().sysctls.at("net/ipv4/ip_forward") == "1");
  CHECK(h.holds(h.last_good.dir()));
  CHECK(h.rounds == rounds);
  CHECK(h.loop.reconciles() == before + 3);
  // Until a file changes: then the new files are applied and judged.
  h.edit(R"({"forwardings": [{"port": "9091", "dest_addr": "10.10.0.66", "dest_port": "90"}]})");
  CHECK(h.holds(h.config));
  CHECK(h.rounds == rounds + 1);
}

TEST_CASE("run --confirm: checks that never pass 3 times in a row roll back at the deadline") {
  Harness h;
  std::ofstream(h.config / "portforwardings.json") << kGood;
  h.loop.start();
  h.clock.advance(Loop::kQuiet);
  h.edit(kBad);
  for (int i = 0; i < 12; i++) {  // pass, fail, pass, ...: each check passed once
    h.checks_pass = i % 2;
    h.clock.advance(1s);
  }
  h.clock.advance(Loop::kQuiet);
  CHECK(h.logged("ROLLBACK to the last good config: the checks did not confirm it in time"));
  CHECK(h.metrics().find("netkeep_rollbacks_total{reason=\"deadline\"} 1") != std::string::npos);
  CHECK(h.holds(h.last_good.dir()));
}
