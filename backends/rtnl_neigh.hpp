// RTM_*NEIGH messages: the neighbour table, for `netkeep doctor` (a
// pinhole's host that does not answer neighbour discovery).
#pragma once

#include <cstdint>
#include <optional>

#include "backends/netlink.hpp"
#include "model/net.hpp"

namespace netkeep::rtnl {

struct NeighMsg {
  int ifindex = 0;
  IpAddr addr;
  uint16_t state = 0;  // NUD_*
};

// An IPv4 or IPv6 neighbour entry of a dump; nullopt for anything else.
std::optional<NeighMsg> decode_neigh(const nlmsghdr* nlh);
nl::Message encode_neigh_dump();

}  // namespace netkeep::rtnl
