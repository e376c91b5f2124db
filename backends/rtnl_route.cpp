#include "backends/rtnl_route.hpp"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "model/ownership.hpp"

namespace netkeep::rtnl {

namespace {

nl::Message encode(uint16_t type, uint16_t flags, int oif, const Route& r) {
  nl::Message m(type, flags);
  auto* rtm = m.put_header<rtmsg>();
  rtm->rtm_family = r.family() == Family::v4 ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = r.dst.len;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = r.proto;
  rtm->rtm_scope = r.scope;
  rtm->rtm_type = RTN_UNICAST;
  const size_t n = static_cast<size_t>(r.dst.addr.size());
  if (r.dst.len) mnl_attr_put(m.hdr(), RTA_DST, n, r.dst.addr.bytes.data());
  if (r.gateway) mnl_attr_put(m.hdr(), RTA_GATEWAY, n, r.gateway->bytes.data());
  if (r.prefsrc) mnl_attr_put(m.hdr(), RTA_PREFSRC, n, r.prefsrc->bytes.data());
  mnl_attr_put_u32(m.hdr(), RTA_OIF, static_cast<uint32_t>(oif));
  // Always explicit, so a delete removes exactly this route and not the
  // first one with the same destination.
  mnl_attr_put_u32(m.hdr(), RTA_PRIORITY, r.priority);
  mnl_attr_put_u32(m.hdr(), RTA_TABLE, kRouteTableMain);
  return m;
}

}  // namespace

std::optional<RouteMsg> decode_route(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE) ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(rtmsg)))
    return std::nullopt;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return std::nullopt;
  if (rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED)) return std::nullopt;
  const size_t n = rtm->rtm_family == AF_INET ? 4 : 16;
  RouteMsg m;
  Route& r = m.route;
  r.dst.addr.family = rtm->rtm_family == AF_INET ? Family::v4 : Family::v6;
  r.dst.len = rtm->rtm_dst_len;
  r.proto = rtm->rtm_protocol;
  r.scope = rtm->rtm_scope;
  uint32_t table = rtm->rtm_table;
  for (const nlattr* attr : nl::Attrs::of(nlh, sizeof(rtmsg))) {
    const auto type = mnl_attr_get_type(attr);
    const bool is_addr = mnl_attr_get_payload_len(attr) == n;
    const void* p = mnl_attr_get_payload(attr);
    switch (type) {
      case RTA_DST:
        if (is_addr) r.dst.addr = *IpAddr::from_bytes(p, n);
        break;
      case RTA_GATEWAY:
        if (is_addr) r.gateway = IpAddr::from_bytes(p, n);
        break;
      case RTA_PREFSRC:
        if (is_addr) r.prefsrc = IpAddr::from_bytes(p, n);
        break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
          m.oif = static_cast<int>(mnl_attr_get_u32(attr));
        break;
      case RTA_PRIORITY:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) r.priority = mnl_attr_get_u32(attr);
        break;
      case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) table = mnl_attr_get_u32(attr);
        break;
      case RTA_MULTIPATH:
        return std::nullopt;  // netkeep never makes these
    }
  }
  if (table != kRouteTableMain || m.oif == 0) return std::nullopt;
  return m;
}

nl::Message encode_route_replace(int oif, const Route& r) {
  return encode(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, oif, r);
}

nl::Message encode_route_delete(int oif, const Route& r) {
  return encode(RTM_DELROUTE, 0, oif, r);
}

nl::Message encode_route_dump() {
  nl::Message m(RTM_GETROUTE, 0);
  auto* rtm = m.put_header<rtmsg>();
  rtm->rtm_family = AF_UNSPEC;
  return m;
}

}  // namespace netkeep::rtnl
