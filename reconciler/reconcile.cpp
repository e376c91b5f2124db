#include "reconciler/reconcile.hpp"

#include "model/config.hpp"
#include "reconciler/plan.hpp"

namespace netkeep {

Reconcile reconcile(const std::filesystem::path& config, KernelReader& reader, KernelWriter& writer,
                    const Resolver& resolve) {
  Reconcile r;
  // Every file is validated before anything is written.
  Desired desired = load_config(config, r.diags);
  if (resolve) resolve_endpoints(desired, resolve, r.diags);
  reader.scope(desired);
  auto actual = reader.snapshot(r.snapshot_error);
  if (!actual) {
    if (r.snapshot_error.empty()) r.snapshot_error = "unknown error";
    return r;
  }
  r.plan = plan(desired, *actual);
  r.result = execute(r.plan, writer);
  r.snapshot = std::move(actual);
  return r;
}

}  // namespace netkeep
