// Loading the config files into a Desired. Every file is parsed and
// validated in full before anything is written; a file with an error is
// marked invalid and contributes nothing (SPEC §5, per-file isolation).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>

#include "model/desired.hpp"
#include "model/json_in.hpp"

namespace netkeep {

Desired load_config(const std::filesystem::path& dir, Diagnostics& diags);

// Per-file parsers over the file's text; nullopt when the file has errors.
std::optional<InterfacesConfig> parse_interfaces(std::string_view text, json::Sink& sink);
std::optional<Dhcp4Lease> parse_dhcp4_lease(std::string_view text, json::Sink& sink);
std::optional<Dhcp6Lease> parse_dhcp6_lease(std::string_view text, json::Sink& sink);
std::optional<PortForwardings> parse_portforwardings(std::string_view text, json::Sink& sink);
std::optional<WireGuardConfig> parse_wireguard(std::string_view text, json::Sink& sink);

// Resolves WireGuard endpoints given as hostnames, in place; an endpoint
// that does not resolve stays without an address (and gets no route).
void resolve_endpoints(Desired& d,
                       const std::function<std::optional<IpAddr>(const std::string&)>& resolve,
                       Diagnostics& diags);

// Standard base64 (RFC 4648, with padding), as Go encodes []byte in JSON.
std::optional<std::string> base64_decode(std::string_view s);
std::string base64_encode(std::string_view bytes);

}  // namespace netkeep
