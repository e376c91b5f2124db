// Health checks for `apply --confirm`: whether the router still does what
// the operator needs after a change. Each runs with its own timeout and
// says what it saw.
//   ping:IP            an ICMP echo answered (raw socket: root)
//   tcp:HOST:PORT      a TCP connection accepted ([v6]:port for IPv6)
//   exec:COMMAND       /bin/sh -c COMMAND exits 0
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "model/result.hpp"

namespace netkeep {

struct Check {
  enum class Kind { ping, tcp, exec };
  Kind kind = Kind::ping;
  std::string spec;        // as given, for messages
  std::string host, port;  // ping: host only
  std::string command;     // exec
  std::chrono::milliseconds timeout{0};
};

// The error says what is wrong with the spec.
Result<Check, std::string> parse_check(const std::string& spec);

struct CheckResult {
  bool ok = false;
  std::string saw;  // "reply from 10.0.0.1 in 0.4 ms", "connection refused", "exit 1: ..."
};

// Runs the check, for at most `limit` (its own timeout, if shorter).
CheckResult run_check(const Check& c, std::chrono::milliseconds limit);

// How a confirm window judges its checks, round after round (`apply
// --confirm` and `run --confirm` alike): every check passing 3 rounds in a
// row confirms the change; a check that has not passed once by half the
// window rolls it back. decide() is that rule, for both.
class CheckVerdict {
 public:
  explicit CheckVerdict(size_t checks) : passed_(checks, false), last_(checks, -1), saw_(checks) {}
  // One round's results, a result per check; returns the checks whose
  // result changed since the last round (the first round: all), to say so.
  std::vector<size_t> round(const std::vector<CheckResult>& results);
  bool confirmed() const { return streak_ >= 3; }
  // A check that has not passed once yet, if any.
  std::optional<size_t> never_passed() const;
  // What check `i` saw last.
  const std::string& saw(size_t i) const { return saw_[i]; }
  // After a round that ended `elapsed` into a window of `window`: "" while
  // undecided, else "confirm: <why>" or "rollback: <why>" (`specs`: the
  // checks as given, to name one).
  std::string decide(const std::vector<std::string>& specs, std::chrono::milliseconds elapsed,
                     std::chrono::milliseconds window) const;
  // The pause between rounds: a tenth of the window, 200 ms to 1 s.
  static std::chrono::milliseconds pause(std::chrono::milliseconds window);

 private:
  std::vector<bool> passed_;  // each check, at least once
  std::vector<int> last_;     // each check's last result: -1 none, 0 failed, 1 passed
  std::vector<std::string> saw_;
  int streak_ = 0;  // rounds in a row that all passed
};

}  // namespace netkeep
