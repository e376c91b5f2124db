// Generic netlink: resolving a family's id by name (CTRL_CMD_GETFAMILY),
// and building a request of that family. Shared by WireGuard and ethtool.
#pragma once

#include <linux/genetlink.h>

#include <optional>
#include <string>

#include "backends/netlink.hpp"

namespace netkeep::genl {

nl::Message request(uint16_t family, uint8_t cmd, uint8_t version, uint16_t flags = 0,
                    size_t size = 4096);
nl::Message get_family(const std::string& name);
std::optional<uint16_t> decode_family_id(const nlmsghdr* nlh);

// The family's id, or an error (ENOENT: the kernel does not have it).
KernelResult<uint16_t> resolve(nl::Socket& s, const std::string& name);

}  // namespace netkeep::genl
