// ethtool's FEC messages over generic netlink (ETHTOOL_MSG_FEC_GET/SET).
// Modes are netkeep's words: rs, baser, llrs, auto, off, none.
#pragma once

#include <optional>
#include <string>

#include "backends/netlink.hpp"

namespace netkeep::fec {

nl::Message encode_get(uint16_t family, const std::string& dev);
// nullopt for a mode netkeep does not know.
std::optional<nl::Message> encode_set(uint16_t family, const std::string& dev,
                                      const std::string& mode);
// The configured mode in a FEC_GET reply (or a FEC_SET message, for tests).
std::optional<std::string> decode(const nlmsghdr* nlh);

}  // namespace netkeep::fec
