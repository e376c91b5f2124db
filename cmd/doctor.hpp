// `netkeep doctor`: reads the kernel (never writes) and prints what keeps
// the config from working; see reconciler/doctor.hpp.
#pragma once

#include <filesystem>

namespace netkeep {

// Exit status: 0 no findings, 2 warnings only, 1 an error (or the kernel
// could not be read).
int cmd_doctor(const std::filesystem::path& config, const std::filesystem::path& root, bool json);

}  // namespace netkeep
