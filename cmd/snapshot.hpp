// Opening the kernel and reading it, as every command that reads it does:
// errors are printed ("netkeep: ..."), and the caller exits 1.
#pragma once

#include <filesystem>
#include <memory>

#include "backends/linux_kernel.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

// Opens the kernel and takes a snapshot into `actual`, scoped to `desired`
// (and from the nftables view under `root`) when given; nullptr when it
// could not, said on stderr.
std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root, const Desired* desired,
                                         Actual& actual);

// What plan and doctor start from: the config files read (WireGuard
// endpoints resolved; their messages in `diags`, for the caller to say),
// the kernel read as they scope it, and the plan between the two.
struct Planned {
  Diagnostics diags;
  Desired desired;
  Actual actual;
  std::unique_ptr<LinuxKernel> kernel;  // null: it could not be read (said)
  Plan plan;
};
Planned plan_now(const std::filesystem::path& config, const std::filesystem::path& root);

}  // namespace netkeep
