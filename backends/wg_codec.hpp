// WireGuard's generic netlink messages (linux/wireguard.h).
#pragma once

#include <vector>

#include "backends/netlink.hpp"
#include "model/actual.hpp"
#include "model/desired.hpp"

namespace netkeep::wg {

// Netlink messages the kernel takes; big peer lists are split across them.
inline constexpr size_t kMaxMessage = 8192;

// WG_CMD_SET_DEVICE for the whole device: the first message carries the key,
// port and WGDEVICE_F_REPLACE_PEERS; each peer's first appearance carries
// WGPEER_F_REPLACE_ALLOWEDIPS; a peer whose allowed IPs do not fit
// continues in the next message without it, as the kernel expects.
std::vector<nl::Message> encode_set_device(uint16_t family, const WgInterfaceSpec& d,
                                           size_t max_message = kMaxMessage);
nl::Message encode_get_device(uint16_t family, const std::string& ifname);

// Folds one message of a WG_CMD_GET_DEVICE dump (or a SET_DEVICE message,
// for tests) into `d`; a peer continuing from the previous message is merged.
bool decode_device(const nlmsghdr* nlh, WgDeviceState& d);

}  // namespace netkeep::wg
