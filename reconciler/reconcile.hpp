// One reconcile: load the config, snapshot the kernel, plan, execute. The
// same function serves `netkeep apply` and each round of `netkeep run`.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "model/desired.hpp"
#include "reconciler/executor.hpp"

namespace netkeep {

struct ReconcileMemo;  // reconciler/reconcile_memo.hpp

struct Reconcile {
  // Wall time of each step, in seconds: where a reconcile's time went.
  struct Times {
    double config = 0, snapshot = 0, plan = 0, execute = 0;
    double total() const { return config + snapshot + plan + execute; }
  };

  Diagnostics diags;  // config errors and warnings
  std::optional<KernelError>
      snapshot_error;  // the kernel's state could not be read; nothing was done
  // The state the plan was made from, less what the reader took back once
  // the plan was made (LinuxKernel: the nftables objects; KernelReader::give_back).
  std::optional<Actual> snapshot;
  Plan plan;
  ExecResult result;
  // Why the first plan was given up and the state read again (the kernel
  // refused its nftables batch as stale, or a link went down under it), for
  // the log; empty when not.
  std::vector<std::string> replanned;
  std::vector<Op> applied_before;  // what the given-up plan had applied
  std::string vetoed;              // why the plan was not executed (AlongsideExecute::veto)
  // When the leases in force end (Unix seconds; 0: none in force, or no
  // end time), for the daemon's metrics.
  int64_t lease4_valid_until = 0, lease6_valid_until = 0;
  Times times;

  bool ok() const { return !snapshot_error && vetoed.empty() && result.ok() && !has_errors(diags); }
  bool changed() const { return !result.applied.empty() || !applied_before.empty(); }
};

using Resolver = std::function<std::optional<IpAddr>(const std::string& host)>;

// What a caller may do around the execution, on the plan about to be
// executed. `veto`, first: a reason not to execute this plan at all (a
// saved plan that no longer matches); the plan is then returned unexecuted.
// `start` just before, `finish` right after (the plan is alive and
// unchanged in between): `apply` renders the plan's text on the other core
// meanwhile; at 10,000 forwardings the kernel spends 0.2 s on the batch,
// and the text takes 15 ms.
struct AlongsideExecute {
  std::function<void(const Plan&)> start;
  std::function<void()> finish;
  std::function<std::string(const Actual&, const Plan&)> veto;
};

// `resolve` turns WireGuard endpoint hostnames into addresses (none: leave
// them unresolved); `memo` is what the caller (the daemon) keeps from one
// reconcile to the next.
Reconcile reconcile(const std::filesystem::path& config, KernelReader& reader, KernelWriter& writer,
                    const Resolver& resolve = nullptr, const AlongsideExecute* alongside = nullptr,
                    ReconcileMemo* memo = nullptr);

}  // namespace netkeep
