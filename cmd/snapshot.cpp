#include "cmd/snapshot.hpp"

#include <fmt/format.h>

#include "backends/nft_view.hpp"

namespace netkeep {

std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root) {
  auto opened = LinuxKernel::open(root);
  if (!opened) {
    fmt::print(stderr, "netkeep: {}\n", opened.error().str());
    return nullptr;
  }
  (*opened)->load_view(nft_view_file(root));
  return std::move(*opened);
}

std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root, Actual& actual) {
  auto opened = LinuxKernel::open(root);
  if (!opened) {
    fmt::print(stderr, "netkeep: {}\n", opened.error().str());
    return nullptr;
  }
  auto snap = (*opened)->snapshot();
  if (!snap) {
    fmt::print(stderr, "netkeep: reading the kernel's state: {}\n", snap.error().str());
    return nullptr;
  }
  actual = std::move(*snap);
  return std::move(*opened);
}

bool prepared_or_said(const Prepared& p) {
  for (const auto& d : p.diags) fmt::print(stderr, "{}\n", d.str());
  if (!p.snapshot_error) return true;
  fmt::print(stderr, "netkeep: reading the kernel's state: {}\n", p.snapshot_error->str());
  return false;
}

}  // namespace netkeep
