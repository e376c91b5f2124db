// Name resolution for WireGuard endpoints given as hostnames (getaddrinfo).
#pragma once

#include <optional>
#include <string>

#include "model/net.hpp"

namespace netkeep {

// The first address `host` resolves to, IPv4 preferred; nullopt if none.
std::optional<IpAddr> resolve_host(const std::string& host);

}  // namespace netkeep
