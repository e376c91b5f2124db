// `netkeep run`: the continuous reconcile daemon. Its shell
// (daemon/shell.hpp: one io_context, one thread) feeds the config and
// kernel watches, signals, the metrics server and the systemd watchdog to
// daemon/loop.hpp, which decides when to reconcile.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/checks.hpp"

namespace netkeep {

struct DaemonOptions {
  std::string config = "/perm";
  std::string root = "/";
  std::string metrics;  // HOST:PORT; empty: off
  std::vector<std::string> notify_pidfiles;
  std::chrono::seconds resync{300};
  size_t log_queue = 1000;  // lines held while the log's reader is behind (log.hpp)
  // --confirm SECONDS --check ...: a new config that changes the kernel
  // must pass the checks, or the last good config comes back.
  std::chrono::seconds confirm{0};
  std::vector<Check> checks;
};

// Runs until SIGTERM or SIGINT; returns the exit status.
int run_daemon(const DaemonOptions& options);

}  // namespace netkeep
