#include "reconciler/reconcile.hpp"

#include <chrono>

#include "model/config.hpp"
#include "model/lease_file.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/plan_protect.hpp"
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

Plan plan_of(const Prepared& p, const Actual& actual) {
  if (p.planner) return p.planner(actual);
  return plan(p.desired, actual, p.memo ? &p.memo->pinholes : nullptr);
}

// Reads the kernel into `p` and plans.
void read_and_plan(Prepared& p, KernelReader& reader, Lap& lap) {
  auto actual = reader.snapshot();
  p.times.snapshot += lap();
  if (!actual) {
    p.snapshot_error = actual.error();
    p.actual = {};
    p.plan = {};
    return;
  }
  p.snapshot_error.reset();
  p.actual = std::move(*actual);
  p.plan = plan_of(p, p.actual);
  p.times.plan += lap();
}

// Whether `again` is exactly the ops of `first` that `applied` (indices
// into it) does not list; else why not.
std::string rest_of(const Plan& first, const std::vector<size_t>& applied, const Plan& again) {
  std::vector<bool> done(first.ops.size());
  for (size_t i : applied) done[i] = true;
  size_t j = 0;
  for (size_t i = 0; i < first.ops.size(); i++) {
    if (done[i]) continue;
    if (j == again.ops.size() || to_json(first.ops[i]) != to_json(again.ops[j]))
      return "the plan made now differs from the rest of the saved one";
    j++;
  }
  if (j != again.ops.size()) return "the plan made now has ops the saved one has not";
  return {};
}

}  // namespace

void read_again(Prepared& p, KernelReader& reader) {
  Lap lap;
  read_and_plan(p, reader, lap);
}

Prepared prepare(const std::filesystem::path& config, KernelReader& reader, const Resolver& resolve,
                 ReconcileMemo* memo) {
  Prepared p;
  Lap lap;
  p.desired = load_config(config, p.diags, memo ? &memo->config : nullptr);
  p.lease4_valid_until = lease_valid_until(p.desired.dhcp4);
  p.lease6_valid_until = lease_valid_until(p.desired.dhcp6);
  if (resolve) resolve_endpoints(p.desired, resolve, p.diags);
  // The memo's pinhole keys follow the files read; the planner reads them.
  if (memo) keep_pinhole_keys(memo->pinholes, p.desired);
  p.memo = memo;
  p.times.config = lap();
  reader.scope(p.desired);
  read_and_plan(p, reader, lap);
  return p;
}

Prepared prepare_with(KernelReader& reader, std::function<Plan(const Actual&)> planner) {
  Prepared p;
  Lap lap;
  p.planner = std::move(planner);
  read_and_plan(p, reader, lap);
  return p;
}

Reconcile commit(Prepared p, KernelReader& reader, KernelWriter& writer, const CommitOptions& o) {
  Reconcile r;
  r.diags = std::move(p.diags);
  r.lease4_valid_until = p.lease4_valid_until;
  r.lease6_valid_until = p.lease6_valid_until;
  Lap lap;
  auto finish = [&] {
    r.times = p.times;
    r.snapshot_error = std::move(p.snapshot_error);
    if (!r.snapshot_error) r.snapshot = std::move(p.actual);
    return std::move(r);
  };
  if (p.snapshot_error) return finish();
  // Once more if the plan was made from a state another program changed
  // meanwhile (the kernel refused the nftables batch whole, or a link was
  // set down under it): the second plan starts from what is there now.
  for (int attempt = 0;; attempt++) {
    if (o.start) o.start(p.plan);
    ExecResult earlier = std::move(r.result);
    r.result = execute(p.plan, writer);
    r.result.write_requests += earlier.write_requests;
    r.result.flows_ended_tcp += earlier.flows_ended_tcp;
    r.result.flows_ended_udp += earlier.flows_ended_udp;
    p.times.execute += lap();
    if (o.finish) o.finish();
    r.plan = std::move(p.plan);
    if (!r.result.stale || attempt == 1) return finish();

    std::string refused;  // the op the kernel named, if it named one
    for (const auto& f : r.result.failures)
      if (!f.skipped && refused.empty()) refused = " (refused: " + to_text(f) + ")";
    r.replanned.push_back(r.result.stale_why + refused);
    read_and_plan(p, reader, lap);
    if (p.snapshot_error) return finish();  // the first attempt's result stands
    std::string why;
    if (o.exact) why = rest_of(r.plan, r.result.applied, p.plan);
    if (why.empty() && o.before_second)
      if (auto e = o.before_second(p.actual, p.plan)) why = *e;
    if (!why.empty()) {
      r.held_back = why;  // the first attempt's result and plan stand
      return finish();
    }
    for (size_t i : r.result.applied) r.applied_before.push_back(r.plan.ops[i]);
  }
}

}  // namespace netkeep
