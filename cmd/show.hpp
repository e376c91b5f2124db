// `netkeep show`: what the kernel holds of what netkeep manages, with the
// leases as their files say and the forwardings' and pinholes' counters.
#pragma once

#include <filesystem>

namespace netkeep {

// Exit status 0, or 1 when the kernel could not be read.
int cmd_show(const std::filesystem::path& config, const std::filesystem::path& root, bool json);

}  // namespace netkeep
