// `netkeep run`: the continuous reconcile daemon. One io_context, one
// thread. Triggers (config files, kernel events, signals, a periodic
// resync, a retry after failure) only mark the state dirty; a short quiet
// period later one reconcile runs, so a burst of events costs one
// reconcile, not one each.
//
//   inotify ─┐
//   rtnetlink ├─▶ trigger(source) ─▶ debounce ─▶ reconcile ─▶ log, metrics, notify
//   nftables ─┤                          ▲            │ failed
//   signals ──┤                          └── backoff ◀┘ (1 s doubling to 60 s)
//   timer ────┘
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace netkeep {

struct DaemonOptions {
  std::string config = "/perm";
  std::string root = "/";
  std::string metrics;  // HOST:PORT; empty: off
  std::vector<std::string> notify_pidfiles;
  std::chrono::seconds resync{300};
};

// Runs until SIGTERM or SIGINT; returns the exit status.
int run_daemon(const DaemonOptions& options);

}  // namespace netkeep
