// The daemon's log: a writer that never blocks its caller, and a bounded
// account of each reconcile.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "daemon/log.hpp"
#include "daemon/reconcile_log.hpp"

using namespace netkeep;
using namespace std::chrono_literals;

namespace {

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    close(r);
    if (w >= 0) close(w);
  }
  // Fills the pipe: a write to `w` blocks from now on.
  void fill() {
    REQUIRE(fcntl(w, F_SETFL, O_NONBLOCK) == 0);
    const std::string chunk(4096, 'x');
    while (write(w, chunk.data(), chunk.size()) > 0) {
    }
    while (write(w, "x", 1) > 0) {
    }
    REQUIRE(fcntl(w, F_SETFL, 0) == 0);
  }
  // What the pipe holds until `until` shows up (or 5 s pass).
  std::string read_until(const std::string& until) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + 5s;
    fcntl(r, F_SETFL, O_NONBLOCK);
    while (got.find(until) == std::string::npos && std::chrono::steady_clock::now() < end) {
      char buf[65536];
      ssize_t n = read(r, buf, sizeof buf);
      if (n > 0)
        got.append(buf, static_cast<size_t>(n));
      else
        std::this_thread::sleep_for(1ms);
    }
    return got;
  }
};

}  // namespace

TEST_CASE("log: lines are written in order, each with the prefix") {
  Pipe p;
  {
    LogWriter log(p.w);
    log.line("one");
    log.line("two");
    CHECK(p.read_until("two\n") == "netkeep: one\nnetkeep: two\n");
    CHECK(log.dropped() == 0);
  }
}

TEST_CASE("log: a reader that does not read costs lines, never the caller's time") {
  Pipe p;
  p.fill();
  LogWriter log(p.w, 4);
  // Without a reader each of these would block in write(2): they return,
  // and all but the queue's 4 (and at most 4 more the writer took before
  // it blocked) are dropped.
  for (int i = 0; i < 100; i++) log.line("line " + std::to_string(i));
  CHECK(log.dropped() >= 92);
  CHECK(log.dropped() <= 96);
  const uint64_t dropped = log.dropped();
  // Read at last: the queued lines, then how many were dropped.
  std::string got = p.read_until("dropped");
  got += p.read_until("\n");
  CHECK(got.find("netkeep: line 0\n") != std::string::npos);
  CHECK(got.find("netkeep: log: " + std::to_string(dropped) + " lines dropped") !=
        std::string::npos);
  log.line("after");
  CHECK(p.read_until("after\n").find("netkeep: after\n") != std::string::npos);
}

TEST_CASE("log: a stuck reader holds up the writer's end for about a second, not forever") {
  Pipe p;
  p.fill();
  const auto start = std::chrono::steady_clock::now();
  {
    LogWriter log(p.w);
    log.line("stuck");
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 900ms);
  CHECK(took < 5s);
  // The writer thread is left in write(2) with its own copy of the state;
  // reading lets it finish.
  CHECK(p.read_until("stuck\n").find("netkeep: stuck\n") != std::string::npos);
}

TEST_CASE("log: a line longer than the bound is cut, and says so") {
  Pipe p;
  LogWriter log(p.w);
  log.line(std::string(LogWriter::kMaxLine + 100, 'y'));
  std::string got = p.read_until("\n");
  CHECK(got.size() == std::string("netkeep: ").size() + LogWriter::kMaxLine + 7);
  CHECK(got.ends_with(" [cut]\n"));
}

TEST_CASE("reconcile log: a small plan logs each op") {
  Reconcile rc;
  for (int i = 0; i < 3; i++) rc.plan.ops.push_back(SysctlSet{"net/ipv4/ip_forward", "0", "1"});
  rc.result.applied = {0, 1, 2};
  auto lines = reconcile_log_lines({7, "config"}, rc);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "reconcile 7: ~ sysctl net.ipv4.ip_forward: 0 -> 1");
  CHECK(lines[3].starts_with("reconcile 7: 3 ops applied, 0 failed"));
  CHECK(lines[3].find("asked for by config") != std::string::npos);
}

TEST_CASE("reconcile log: 131,070 ops and 25 failures in at most 60 lines") {
  Reconcile rc;
  const size_t n = 131070;
  rc.plan.ops.reserve(n + 25 + 3);
  for (size_t i = 0; i < n; i++) {
    NftForwardAdd f;
    f.table = "nat";
    f.map = i % 2 ? "netkeep-portforwardings-udp" : "netkeep-portforwardings-tcp";
    f.proto = i % 2 ? 17 : 6;
    rc.plan.ops.push_back(f);
    rc.result.applied.push_back(i);
  }
  for (int i = 0; i < 3; i++) {
    rc.plan.ops.push_back(NftChainAdd{});
    rc.result.applied.push_back(rc.plan.ops.size() - 1);
  }
  for (int i = 0; i < 25; i++) {
    rc.plan.ops.push_back(SysctlSet{"net/ipv4/ip_forward", "0", "1"});
    rc.result.failures.push_back({rc.plan.ops.back(), KernelError{EPERM, "Operation not permitted"}});
  }
  for (int i = 0; i < 15; i++) rc.plan.warnings.push_back("w" + std::to_string(i));
  auto lines = reconcile_log_lines({1, "start"}, rc);
  CHECK(lines.size() <= 60);
  auto has = [&](const std::string& part) {
    for (const auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  };
  CHECK(has("reconcile 1: applying 131073 ops: 131070 forward_add, 3 nft_chain_add"));
  CHECK(has("... and 131053 more ops"));
  CHECK(has("... and 15 more failed ops"));
  CHECK(has("... and 5 more warnings"));
  CHECK(has("reconcile 1: warning: w9"));
  CHECK_FALSE(has("warning: w10"));
  CHECK(has("131073 ops applied, 25 failed"));
  size_t errors = 0;
  for (const auto& l : lines) errors += l.find(": error: ") != std::string::npos;
  CHECK(errors == ReconcileLog::kMaxEach);
}
