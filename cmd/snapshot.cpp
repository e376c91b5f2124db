#include "cmd/snapshot.hpp"

#include <fmt/format.h>

#include "backends/nft_view.hpp"
#include "backends/resolver.hpp"
#include "model/config.hpp"
#include "reconciler/plan.hpp"

namespace netkeep {

std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root, const Desired* desired,
                                         Actual& actual) {
  auto opened = LinuxKernel::open(root);
  if (!opened) {
    fmt::print(stderr, "netkeep: {}\n", opened.error().str());
    return nullptr;
  }
  auto kernel = std::move(*opened);
  if (desired) {
    kernel->scope(*desired);
    kernel->load_view(nft_view_file(root));
  }
  auto snap = kernel->snapshot();
  if (!snap) {
    fmt::print(stderr, "netkeep: reading the kernel's state: {}\n", snap.error().str());
    return nullptr;
  }
  actual = std::move(*snap);
  return kernel;
}

Planned plan_now(const std::filesystem::path& config, const std::filesystem::path& root) {
  Planned p;
  p.desired = load_config(config, p.diags);
  resolve_endpoints(p.desired, resolve_host, p.diags);
  p.kernel = open_kernel(root, &p.desired, p.actual);
  if (p.kernel) p.plan = plan(p.desired, p.actual);
  return p;
}

}  // namespace netkeep
