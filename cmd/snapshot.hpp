// Opening the kernel and reading it, as every command that reads it does:
// errors are printed ("netkeep: ..."), and the caller exits 1.
#pragma once

#include <filesystem>
#include <memory>

#include "backends/linux_kernel.hpp"
#include "reconciler/reconcile.hpp"

namespace netkeep {

// Opens the kernel, with the nftables view kept under `root` (apply's
// and plan's file, nft_view.hpp); nullptr when it could not, said.
std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root);

// Opens the kernel and takes a snapshot into `actual` (netkeep show);
// nullptr when it could not, said.
std::unique_ptr<LinuxKernel> open_kernel(const std::filesystem::path& root, Actual& actual);

// prepare() with the config files' messages printed, and a kernel that
// could not be read said; false then (the caller exits 1).
bool prepared_or_said(const Prepared& p);

}  // namespace netkeep
