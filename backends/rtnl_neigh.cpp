#include "backends/rtnl_neigh.hpp"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace netkeep::rtnl {

std::optional<NeighMsg> decode_neigh(const nlmsghdr* nlh) {
  if (nlh->nlmsg_type != RTM_NEWNEIGH || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ndmsg)))
    return std::nullopt;
  const auto* nd = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) return std::nullopt;
  const size_t len = nd->ndm_family == AF_INET ? 4 : 16;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(ndmsg))) {
    if (mnl_attr_get_type(a) != NDA_DST || mnl_attr_get_payload_len(a) != len) continue;
    auto addr = IpAddr::from_bytes(mnl_attr_get_payload(a), len);
    if (!addr) return std::nullopt;
    return NeighMsg{nd->ndm_ifindex, *addr, nd->ndm_state};
  }
  return std::nullopt;
}

nl::Message encode_neigh_dump() {
  nl::Message m(RTM_GETNEIGH, 0);
  m.put_header<ndmsg>()->ndm_family = AF_UNSPEC;
  return m;
}

}  // namespace netkeep::rtnl
