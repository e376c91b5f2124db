#include "cmd/snapshot.hpp"

#include <fmt/format.h>

#include "backends/nft_view.hpp"

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

}  // namespace netkeep
