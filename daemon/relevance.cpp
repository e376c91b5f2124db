#include "daemon/relevance.hpp"

#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>

#include "backends/nft_codec.hpp"
#include "backends/netlink.hpp"
#include "reconciler/nft_desired.hpp"
#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_route.hpp"
#include "model/ownership.hpp"

namespace netkeep {

namespace {

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

bool rtnl_relevant(const nlmsghdr* nlh, const Actual& last,
                   const std::function<std::string(int)>& name_of, std::string* why) {
  const uint16_t t = nlh->nlmsg_type;
  const bool add = t == RTM_NEWLINK || t == RTM_NEWADDR || t == RTM_NEWROUTE;
  auto say = [&](bool relevant, const std::string& what) {
    if (relevant && why) *why = (add ? "new " : "deleted ") + what;
    return relevant;
  };
  if (t == RTM_NEWLINK || t == RTM_DELLINK) {
    auto l = rtnl::decode_link(nlh);
    if (!l) return false;
    const Link* known = last.link(l->link.name);
    if (!add) return say(known != nullptr, "link " + l->link.name);
    l->link.master = name_of(l->master_index);
    // Carrier and statistics are not in the model.
    return say(!known || !(*known == l->link), "link " + l->link.name);
  }
  if (t == RTM_NEWADDR || t == RTM_DELADDR) {
    auto a = rtnl::decode_addr(nlh);
    if (!a) return false;
    a->addr.dev = name_of(a->ifindex);
    // Only addresses netkeep owns, and IPv4 on uplink0 (swept when a DHCP
    // lease is in force), can change a plan; link-local and other
    // programs' addresses come and go without concern.
    // (A link not yet known by name may be uplink0.)
    const bool concern =
        a->addr.origin() != Origin::foreign || (a->addr.local.addr.is_v4() && a->addr.dev.empty());
    if (!concern) return false;
    // Flags (tentative, deprecated) and lifetimes are not in the model.
    return say(a->addr.dev.empty() || add != contains(last.addrs, a->addr),
               "address " + a->addr.local.str() + " dev " + a->addr.dev);
  }
  if (t == RTM_NEWROUTE || t == RTM_DELROUTE) {
    auto r = rtnl::decode_route(nlh);
    if (!r) return false;  // another table, not unicast: never netkeep's
    r->route.dev = name_of(r->oif);
    // Routes netkeep owns, and any route taking an owned route's place
    // (same destination and metric). Kernel prefix routes and routes
    // learned from router advertisements never change a plan.
    auto owned = [](const Route& x) { return x.origin() != Origin::foreign; };
    bool concern =
        owned(r->route) || std::any_of(last.routes.begin(), last.routes.end(), [&](const Route& x) {
          return owned(x) && x.dst == r->route.dst && x.priority == r->route.priority;
        });
    if (!concern) return false;
    return say(add != contains(last.routes, r->route),
               "route " + r->route.dst.str() + " dev " + r->route.dev);
  }
  if (t == RTM_NEWNETCONF) {
    // Forwarding turned off (or on) by someone else: ip_forward and IPv6's
    // all.forwarding are announced; netkeep's other sysctls are not and
    // wait for the periodic resync.
    if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(netconfmsg))) return false;
    const auto* ncm = static_cast<const netconfmsg*>(NLMSG_DATA(nlh));
    const char* key = ncm->ncm_family == AF_INET    ? "net/ipv4/ip_forward"
                      : ncm->ncm_family == AF_INET6 ? "net/ipv6/conf/all/forwarding"
                                                    : nullptr;
    std::optional<int32_t> index, forwarding;
    for (const nlattr* a : nl::Attrs::of(nlh, sizeof(netconfmsg))) {
      if (mnl_attr_validate(a, MNL_TYPE_U32) < 0) continue;
      if (mnl_attr_get_type(a) == NETCONFA_IFINDEX)
        index = static_cast<int32_t>(mnl_attr_get_u32(a));
      if (mnl_attr_get_type(a) == NETCONFA_FORWARDING)
        forwarding = static_cast<int32_t>(mnl_attr_get_u32(a));
    }
    if (!key || index != NETCONFA_IFINDEX_ALL || !forwarding) return false;
    auto it = last.sysctls.find(key);
    const bool changed = it == last.sysctls.end() || it->second != std::to_string(*forwarding);
    if (changed && why) *why = fmt::format("{} = {}", key, *forwarding);
    return changed;
  }
  return false;
}

bool nft_relevant(const nlmsghdr* nlh, std::string* why) {
  auto s = nft::decode_subject(nlh);
  if (why && s) *why = fmt::format("{} {} {}", family_name(s->family), s->table, s->name);
  if (!s || (s->family != NftFamily::ip && s->family != NftFamily::ip6)) return false;
  switch (s->msg) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
      return nft_owned_table(s->family, s->table);
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      return nft_owned_chain(s->family, s->table, s->name);
    case NFT_MSG_NEWOBJ:
    case NFT_MSG_DELOBJ:
      return nft_owned_counter(s->family, s->table, s->name);
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
      return nft_owned_set(s->family, s->table, s->name);
  }
  return false;
}

}  // namespace netkeep
