// RTM_*LINK messages: encode the link writes netkeep makes, decode dumps.
#pragma once

#include <optional>
#include <string>

#include "backends/netlink.hpp"
#include "model/actual.hpp"

namespace netkeep::rtnl {

// A link as one RTM_NEWLINK message describes it.
struct LinkMsg {
  int ifindex = 0;
  int master_index = 0;  // IFLA_MASTER, 0 when none
  Link link;             // link.master is left empty: names are resolved after the dump
};

// Takes RTM_NEW* (dumps, events) and RTM_DEL* (events).
std::optional<LinkMsg> decode_link(const nlmsghdr* nlh);

// What to change on an existing link (by ifindex); unset fields are left alone.
struct LinkChange {
  int ifindex = 0;
  std::optional<std::string> name;
  std::optional<uint32_t> mtu;
  std::optional<Mac> mac;
  std::optional<int> master;  // ifindex of the bridge
  std::optional<bool> up;
};

nl::Message encode_link_change(const LinkChange& c);
nl::Message encode_bridge_create(const std::string& name, const Mac& mac);
nl::Message encode_link_create(const std::string& name, const std::string& kind);
nl::Message encode_link_delete(int ifindex);
nl::Message encode_link_dump();
nl::Message encode_link_get(const std::string& name);

}  // namespace netkeep::rtnl
