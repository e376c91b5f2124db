// RTM_*ROUTE messages, main table only: netkeep manages nothing else.
#pragma once

#include <optional>

#include "backends/netlink.hpp"
#include "model/actual.hpp"

namespace netkeep::rtnl {

struct RouteMsg {
  int oif = 0;
  Route route;  // route.dev is left empty: resolved from oif after the dump
};

// nullopt for messages netkeep does not manage: other tables, non-unicast,
// cached clones, multipath. Takes RTM_NEWROUTE and RTM_DELROUTE.
std::optional<RouteMsg> decode_route(const nlmsghdr* nlh);

nl::Message encode_route_replace(int oif, const Route& r);
nl::Message encode_route_delete(int oif, const Route& r);
nl::Message encode_route_dump();

}  // namespace netkeep::rtnl
