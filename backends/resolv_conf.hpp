// Files under --root that netkeep writes (ROOT/tmp/resolv.conf).
#pragma once

#include <filesystem>
#include <optional>

#include "model/actual.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep::files {

FileInfo inspect(const std::filesystem::path& p);  // lstat, and the content of a regular file

// Writes `content` to `p` atomically (temp file + rename). Replaces a
// symlink; refuses to replace a regular file (someone else's, e.g. tailscale's).
std::optional<KernelError> replace_unless_regular(const std::filesystem::path& p,
                                                  const std::string& content);

}  // namespace netkeep::files
