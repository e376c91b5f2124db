// RTM_*ADDR messages.
#pragma once

#include <optional>

#include "backends/netlink.hpp"
#include "model/actual.hpp"

namespace netkeep::rtnl {

struct AddrMsg {
  int ifindex = 0;
  Address addr;  // addr.dev is left empty: resolved from ifindex after the dump
};

// Takes RTM_NEW* (dumps, events) and RTM_DEL* (events).
std::optional<AddrMsg> decode_addr(const nlmsghdr* nlh);

// RTM_NEWADDR with NLM_F_REPLACE (add, or fix broadcast/mark), or RTM_DELADDR.
nl::Message encode_addr_replace(int ifindex, const Address& a);
nl::Message encode_addr_delete(int ifindex, const Address& a);
nl::Message encode_addr_dump();

}  // namespace netkeep::rtnl
