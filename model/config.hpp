// Loading the config files into a Desired. Every file is parsed and
// validated in full before anything is written; a file with an error is
// marked invalid and contributes nothing (SPEC §5, per-file isolation).
// The per-file parsers and their JSON machinery: model/config_parse.hpp.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include "model/desired.hpp"

namespace netkeep {

struct ConfigMemo;
// Reads and validates every config file of `dir`. With `memo` (the
// daemon's; a one-shot run has none), portforwardings.json is re-read
// incrementally against the last text it parsed.
Desired load_config(const std::filesystem::path& dir, Diagnostics& diags,
                    ConfigMemo* memo = nullptr);

// The two lease files alone, as load_config reads them (show, doctor).
struct Leases {
  ConfigFile<Dhcp4Lease> dhcp4;
  ConfigFile<Dhcp6Lease> dhcp6;
  bool operator==(const Leases&) const = default;
};
Leases load_leases(const std::filesystem::path& dir, Diagnostics& diags);

// A name the kernel takes for a link (its dev_valid_name()): 1-15 bytes,
// no '/', ':' or whitespace, not "." or "..".
bool valid_ifname(std::string_view name);

// Resolves WireGuard endpoints given as hostnames, in place; an endpoint
// that does not resolve stays without an address (and gets no route).
void resolve_endpoints(Desired& d,
                       const std::function<std::optional<IpAddr>(const std::string&)>& resolve,
                       Diagnostics& diags);

// Standard base64 (RFC 4648, with padding), as Go encodes []byte in JSON.
std::optional<std::string> base64_decode(std::string_view s);
std::string base64_encode(std::string_view bytes);

}  // namespace netkeep
