// The fields portforwardings.json and firewall.json share: "proto" and a
// port or port range, read with the same messages. Internal to the model.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "model/desired.hpp"
#include "model/json_in.hpp"

namespace netkeep::ports {

// "N" or "N-M" under `key`; a missing key is an error.
std::optional<PortRange> read_range(json::Object& o, std::string_view key);

// "proto": "tcp" (also when empty or absent), "udp", or a comma list of
// them, in order: at most two, kept inline (a 0 marks the end).
using Protos = std::array<uint8_t, 2>;
std::optional<Protos> read_protos(json::Object& o);

}  // namespace netkeep::ports
