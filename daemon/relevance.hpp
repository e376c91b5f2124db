// Which kernel events can change a plan. Carrier changes, IPv6 DAD
// finishing, other tables' routes and other programs' nftables rules all
// arrive on the groups the daemon listens to; reconciling on them would
// keep it busy for nothing. An rtnetlink event is relevant when it adds
// what the last snapshot lacks or removes what it has; an nftables event
// when it touches an owned table, chain, rule or counter.
#pragma once

#include <functional>
#include <linux/netlink.h>
#include <string>

#include "model/actual.hpp"

namespace netkeep {

// When relevant, `why` (if given) says what changed, for the log.
bool rtnl_relevant(const nlmsghdr* nlh, const Actual& last,
                   const std::function<std::string(int)>& name_of, std::string* why = nullptr);
bool nft_relevant(const nlmsghdr* nlh, std::string* why = nullptr);

}  // namespace netkeep
