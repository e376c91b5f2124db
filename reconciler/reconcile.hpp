// A reconcile is two plain calls (reconciler/README.md):
//
//   prepare(config, reader)  reads the config files and the kernel, plans;
//                            writes nothing. → Prepared
//   commit(prepared, ...)    executes the plan; when the kernel refuses its
//                            nftables batch as stale, reads the kernel
//                            again, plans again and executes once more.
//                            → Reconcile (what was read, planned, applied)
//
// Between the two, a caller may look at the plan and stop (apply --plan
// checks the saved plan; apply --confirm journals it and starts its
// watchdog). `plan` and `doctor` stop after prepare.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "model/desired.hpp"
#include "reconciler/executor.hpp"

namespace netkeep {

struct ReconcileMemo;  // reconciler/reconcile_memo.hpp

// Wall time of each step, in seconds: where a reconcile's time went.
struct ReconcileTimes {
  double config = 0, snapshot = 0, plan = 0, execute = 0;
  double total() const { return config + snapshot + plan + execute; }
};

// What prepare read and planned. It owns all of it: nothing in it is lent
// by the reader or the memo.
struct Prepared {
  Diagnostics diags;  // config errors and warnings
  Desired desired;
  // The kernel's state could not be read: `actual` and `plan` are empty.
  // A race (KernelError::race) is for whoever follows the nftables events.
  std::optional<KernelError> snapshot_error;
  Actual actual;  // the state the plan was made from
  Plan plan;
  // When the leases in force end (Unix seconds; 0: none in force, or no
  // end time), for the daemon's metrics.
  int64_t lease4_valid_until = 0, lease6_valid_until = 0;
  ReconcileTimes times;
  // How commit plans again from a fresh snapshot; unset: plan(desired,
  // actual) with the memo's pinhole keys. The rollback sets it (restore).
  std::function<Plan(const Actual&)> planner;
  const ReconcileMemo* memo = nullptr;

  bool ok() const { return !snapshot_error && !has_errors(diags); }
};

using Resolver = std::function<std::optional<IpAddr>(const std::string& host)>;

// Reads the config files (every one validated before anything is
// written), resolves WireGuard endpoint hostnames with `resolve` (none:
// left unresolved), reads the kernel as they scope it and plans. `memo`
// is what the daemon keeps from one reconcile to the next: prepare
// updates it from the files it read, and the planner only reads it.
Prepared prepare(const std::filesystem::path& config, KernelReader& reader,
                 const Resolver& resolve = nullptr, ReconcileMemo* memo = nullptr);
// Reads the kernel again into `p` and plans from it, the config as read:
// commit's retry after a stale batch, the daemon's after a race it judged.
void read_again(Prepared& p, KernelReader& reader);
// Reads the kernel and plans with `planner` (the rollback's restore plan).
Prepared prepare_with(KernelReader& reader, std::function<Plan(const Actual&)> planner);

// A whole reconcile, as commit returns it.
struct Reconcile {
  Diagnostics diags;
  std::optional<KernelError> snapshot_error;  // a read failed; nothing more was done
  // The state last read (the last plan was made from it, unless that plan
  // was held back), and the plan executed last; `result`'s indices are
  // into it.
  std::optional<Actual> snapshot;
  Plan plan;
  ExecResult result;
  // Why the first plan was given up and the state read again (the kernel
  // refused its nftables batch as stale, or a link went down under it), for
  // the log; empty when not.
  std::vector<std::string> replanned;
  std::vector<Op> applied_before;  // what the given-up plan had applied
  // Why the second plan was not executed (CommitOptions::exact): the rest
  // of the first plan was not what the kernel now needs. Empty when it was.
  std::string held_back;
  int64_t lease4_valid_until = 0, lease6_valid_until = 0;
  ReconcileTimes times;

  bool ok() const {
    return !snapshot_error && held_back.empty() && result.ok() && !has_errors(diags);
  }
  bool changed() const { return !result.applied.empty() || !applied_before.empty(); }
};

struct CommitOptions {
  // Around each execution, with the plan about to be executed (alive and
  // unchanged until `finish`): apply renders the plan's text on the other
  // core meanwhile.
  std::function<void(const Plan&)> start;
  std::function<void()> finish;
  // The first plan is one an operator approved (apply --plan): a second
  // plan is executed only if it is exactly the first one's ops that were
  // not applied; else it is held back (Reconcile::held_back).
  bool exact = false;
  // Called with the second plan and the state it was made from before it
  // is executed (apply --confirm adds what it touches to the journal); an
  // error holds it back.
  std::function<std::optional<std::string>(const Actual&, const Plan&)> before_second;
};

// Executes `p`'s plan; when prepare could not read the kernel, nothing
// (the Reconcile then carries the error).
Reconcile commit(Prepared p, KernelReader& reader, KernelWriter& writer,
                 const CommitOptions& options = {});

}  // namespace netkeep
