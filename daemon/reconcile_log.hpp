// What the daemon logs of one reconcile, bounded: a cold start of 131,070
// forwardings is one plan of as many ops, and a log of that many lines
// would bury everything else (and journald rate-limits it anyway). Small
// plans log every op; a large one logs the count of each kind of op and
// the first kFirstOps. Errors and warnings keep a line each up to
// kMaxEach of a kind, then a count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reconciler/reconcile.hpp"

namespace netkeep {

struct ReconcileLog {
  static constexpr size_t kAllOps = 30;    // up to this many applied ops, each has a line
  static constexpr size_t kFirstOps = 20;  // beyond it, the first this many
  static constexpr size_t kMaxEach = 10;   // diagnostics, warnings, failures: each kind

  uint64_t n = 0;        // the reconcile's number
  std::string asked_by;  // what asked for it
};

// The lines (without the "netkeep: " prefix), in the order they happened:
// config diagnostics, warnings, why it was planned again, the kernel read's
// error, the ops applied, the failures, flows ended, and the summary.
std::vector<std::string> reconcile_log_lines(const ReconcileLog& what, const Reconcile& rc);

}  // namespace netkeep
