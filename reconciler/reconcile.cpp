#include "reconciler/reconcile.hpp"

#include "model/lease_file.hpp"

#include <chrono>

#include "reconciler/plan.hpp"
#include "reconciler/reconcile_memo.hpp"

namespace netkeep {

namespace {

// Seconds since the previous call; the first call starts the clock.
class Lap {
 public:
  double operator()() {
    auto now = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

Reconcile reconcile(const std::filesystem::path& config, KernelReader& reader, KernelWriter& writer,
                    const Resolver& resolve, const AlongsideExecute* alongside,
                    ReconcileMemo* memo) {
  Reconcile r;
  Lap lap;
  // Every file is validated before anything is written.
  PortForwardingsMemo* pf = memo ? &memo->config.forwardings : nullptr;
  if (pf) pf->lend = true;
  Desired desired = load_config(config, r.diags, memo ? &memo->config : nullptr);
  r.lease4_valid_until = lease_valid_until(desired.dhcp4);
  r.lease6_valid_until = lease_valid_until(desired.dhcp6);
  // The memo lent the forwardings instead of copying them: they go back
  // when this reconcile is done with them, whichever way it returns.
  struct GiveBack {
    PortForwardingsMemo* memo;
    Desired& d;
    ~GiveBack() {
      if (memo && d.portforwardings.ok()) give_back(*memo, std::move(d.portforwardings.value));
    }
  } give_back_forwardings{pf, desired};
  if (resolve) resolve_endpoints(desired, resolve, r.diags);
  r.times.config = lap();
  reader.scope(desired);
  // Once more if the plan was made from a state another program changed
  // meanwhile (the kernel refused the nftables batch whole, or a link was
  // set down under it): the second plan starts from what is there now.
  for (int attempt = 0;; attempt++) {
    auto actual = reader.snapshot();
    r.times.snapshot += lap();
    if (!actual) {
      r.snapshot_error = actual.error();
      return r;
    }
    r.plan = plan(desired, *actual, memo ? &memo->pinholes : nullptr);
    r.times.plan += lap();
    if (alongside && alongside->veto) {
      r.vetoed = alongside->veto(*actual, r.plan);
      if (!r.vetoed.empty()) {
        reader.give_back(*actual);
        r.snapshot = std::move(*actual);
        return r;
      }
    }
    reader.give_back(*actual);  // planned: the snapshot's nftables state is not read again
    if (alongside && alongside->start) alongside->start(r.plan);
    const ExecResult earlier = std::move(r.result);
    r.result = execute(r.plan, writer);
    r.result.write_requests += earlier.write_requests;
    r.result.flows_ended_tcp += earlier.flows_ended_tcp;
    r.result.flows_ended_udp += earlier.flows_ended_udp;
    r.times.execute += lap();
    if (alongside && alongside->finish) alongside->finish();
    r.snapshot = std::move(*actual);
    if (!r.result.stale || attempt == 1) return r;
    for (size_t i : r.result.applied) r.applied_before.push_back(r.plan.ops[i]);
    std::string refused;  // the op the kernel named, if it named one
    for (const auto& f : r.result.failures)
      if (!f.skipped && refused.empty()) refused = " (refused: " + to_text(f) + ")";
    r.replanned.push_back(r.result.stale_why + refused);
  }
}

}  // namespace netkeep
