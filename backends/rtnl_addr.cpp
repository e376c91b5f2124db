#include "backends/rtnl_addr.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace netkeep::rtnl {

namespace {

int af(Family f) {
  return f == Family::v4 ? AF_INET : AF_INET6;
}

nl::Message encode(uint16_t type, uint16_t flags, int ifindex, const Address& a) {
  nl::Message m(type, flags);
  auto* ifa = m.put_header<ifaddrmsg>();
  ifa->ifa_family = static_cast<uint8_t>(af(a.local.addr.family));
  ifa->ifa_prefixlen = a.local.len;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  const size_t n = static_cast<size_t>(a.local.addr.size());
  mnl_attr_put(m.hdr(), IFA_LOCAL, n, a.local.addr.bytes.data());
  mnl_attr_put(m.hdr(), IFA_ADDRESS, n, a.local.addr.bytes.data());
  if (type == RTM_NEWADDR) {
    if (a.broadcast) mnl_attr_put(m.hdr(), IFA_BROADCAST, 4, a.broadcast->bytes.data());
    if (a.proto) mnl_attr_put_u8(m.hdr(), IFA_PROTO, a.proto);
  }
  return m;
}

}  // namespace

std::optional<AddrMsg> decode_addr(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR) ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg)))
    return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return std::nullopt;
  const size_t n = ifa->ifa_family == AF_INET ? 4 : 16;
  AddrMsg m;
  m.ifindex = static_cast<int>(ifa->ifa_index);
  std::optional<IpAddr> local, address;
  for (const nlattr* attr : nl::Attrs::of(nlh, sizeof(ifaddrmsg))) {
    const auto type = mnl_attr_get_type(attr);
    const bool is_addr = mnl_attr_get_payload_len(attr) == n;
    if (type == IFA_LOCAL && is_addr) local = IpAddr::from_bytes(mnl_attr_get_payload(attr), n);
    if (type == IFA_ADDRESS && is_addr) address = IpAddr::from_bytes(mnl_attr_get_payload(attr), n);
    if (type == IFA_BROADCAST && mnl_attr_get_payload_len(attr) == 4)
      m.addr.broadcast = IpAddr::from_bytes(mnl_attr_get_payload(attr), 4);
    if (type == IFA_PROTO && mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
      m.addr.proto = mnl_attr_get_u8(attr);
  }
  // IPv4 reports the interface's own address as IFA_LOCAL (IFA_ADDRESS is
  // the peer on point-to-point links); IPv6 only sends IFA_ADDRESS.
  auto a = local ? local : address;
  if (!a) return std::nullopt;
  m.addr.local = Prefix{*a, ifa->ifa_prefixlen};
  return m;
}

nl::Message encode_addr_replace(int ifindex, const Address& a) {
  return encode(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, a);
}

nl::Message encode_addr_delete(int ifindex, const Address& a) {
  return encode(RTM_DELADDR, 0, ifindex, a);
}

nl::Message encode_addr_dump() {
  nl::Message m(RTM_GETADDR, 0);
  auto* ifa = m.put_header<ifaddrmsg>();
  ifa->ifa_family = AF_UNSPEC;
  return m;
}

}  // namespace netkeep::rtnl
