// Opening the kernel and reading it, as every command that reads it does:
// errors are printed ("netkeep: ..."), and the caller exits 1.
#pragma once

#include <filesystem>
#include <memory>

#include "backends/linux_kernel.hpp"

namespace netkeep {

// Opens the kernel and takes a snapshot into `actual`, scoped to `desired`
// (and from the nftables view under `root`) when given; nullptr when it
// could not, said on stderr.
std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root, const Desired* desired,
                                         Actual& actual);

}  // namespace netkeep
