// Health checks for `apply --confirm`: whether the router still does what
// the operator needs after a change. Each runs with its own timeout and
// says what it saw.
//   ping:IP            an ICMP echo answered (raw socket: root)
//   tcp:HOST:PORT      a TCP connection accepted ([v6]:port for IPv6)
//   exec:COMMAND       /bin/sh -c COMMAND exits 0
#pragma once

#include <chrono>
#include <string>

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

}  // namespace netkeep
