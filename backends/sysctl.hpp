// sysctls under /proc/sys, by slash key ("net/ipv4/ip_forward").
#pragma once

#include <optional>
#include <string>

#include "reconciler/kernel.hpp"

namespace netkeep::sysctl {

std::optional<std::string> read(const std::string& key);  // trimmed; nullopt if absent
std::optional<KernelError> write(const std::string& key, const std::string& value);

}  // namespace netkeep::sysctl
