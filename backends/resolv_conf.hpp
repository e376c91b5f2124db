// Files under --root that netkeep writes: ROOT/tmp/resolv.conf, and its
// own state (ROOT/run/netkeep/nft-view).
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <sys/types.h>

#include "model/actual.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep::files {

FileInfo inspect(const std::filesystem::path& p);  // lstat, and the content of a regular file

// Writes `content` to `p` atomically (temp file + rename). Replaces a
// symlink; refuses to replace a regular file (someone else's, e.g. tailscale's).
std::optional<KernelError> replace_unless_regular(const std::filesystem::path& p,
                                                  const std::string& content);

// Puts back what a file was before netkeep wrote it: nothing (removed;
// already missing is fine), or a symlink to `symlink` (atomically).
std::optional<KernelError> restore(const std::filesystem::path& p, const std::string& symlink);

// Writes netkeep's own state file `p` atomically, mode 0600, making its
// directory if need be.
std::optional<KernelError> write_own(const std::filesystem::path& p, std::string_view content);

// The first half of an atomic replace: `content` in a new file of `mode`
// beside `p`, named for it; returns that file's path, for the caller to
// rename into place (or unlink). Nothing is left behind on failure.
// With `sync` the content is on disk (fsync) before the path is returned.
KernelResult<std::filesystem::path> write_beside(const std::filesystem::path& p,
                                                 std::string_view content, mode_t mode,
                                                 bool sync = false);

}  // namespace netkeep::files
