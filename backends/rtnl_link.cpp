#include "backends/rtnl_link.hpp"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>

namespace netkeep::rtnl {

std::optional<LinkMsg> decode_link(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK) ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg)))
    return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkMsg m;
  m.ifindex = ifi->ifi_index;
  m.link.up = ifi->ifi_flags & IFF_UP;
  for (const nlattr* attr : nl::Attrs::of(nlh, sizeof(ifinfomsg))) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) m.link.name = mnl_attr_get_str(attr);
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) m.link.mtu = mnl_attr_get_u32(attr);
        break;
      case IFLA_MASTER:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
          m.master_index = static_cast<int>(mnl_attr_get_u32(attr));
        break;
      case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(attr) == 6)
          std::memcpy(m.link.mac.bytes.data(), mnl_attr_get_payload(attr), 6);
        break;
      case IFLA_LINKINFO: {
        for (const nlattr* info : nl::Attrs::nested(attr)) {
          if (mnl_attr_get_type(info) == IFLA_INFO_KIND &&
              mnl_attr_validate(info, MNL_TYPE_STRING) == 0)
            m.link.kind.assign(static_cast<const char*>(mnl_attr_get_payload(info)),
                               strnlen(static_cast<const char*>(mnl_attr_get_payload(info)),
                                       mnl_attr_get_payload_len(info)));
        }
        break;
      }
    }
  }
  if (m.link.name.empty()) return std::nullopt;
  return m;
}

nl::Message encode_link_change(const LinkChange& c) {
  nl::Message m(RTM_NEWLINK, 0);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = c.ifindex;
  if (c.up) {
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = *c.up ? IFF_UP : 0;
  }
  if (c.name) mnl_attr_put_strz(m.hdr(), IFLA_IFNAME, c.name->c_str());
  if (c.mtu) mnl_attr_put_u32(m.hdr(), IFLA_MTU, *c.mtu);
  if (c.mac) mnl_attr_put(m.hdr(), IFLA_ADDRESS, 6, c.mac->bytes.data());
  if (c.master) mnl_attr_put_u32(m.hdr(), IFLA_MASTER, static_cast<uint32_t>(*c.master));
  return m;
}

nl::Message encode_bridge_create(const std::string& name, const Mac& mac) {
  // The MAC is given at creation, so the bridge never runs with a random
  // one (router7 relied on this for its DHCP identity).
  nl::Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.hdr(), IFLA_IFNAME, name.c_str());
  mnl_attr_put(m.hdr(), IFLA_ADDRESS, 6, mac.bytes.data());
  nlattr* info = mnl_attr_nest_start(m.hdr(), IFLA_LINKINFO);
  mnl_attr_put_strz(m.hdr(), IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(m.hdr(), info);
  return m;
}

nl::Message encode_link_delete(int ifindex) {
  nl::Message m(RTM_DELLINK, 0);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = ifindex;
  return m;
}

nl::Message encode_link_create(const std::string& name, const std::string& kind) {
  nl::Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.hdr(), IFLA_IFNAME, name.c_str());
  nlattr* info = mnl_attr_nest_start(m.hdr(), IFLA_LINKINFO);
  mnl_attr_put_strz(m.hdr(), IFLA_INFO_KIND, kind.c_str());
  mnl_attr_nest_end(m.hdr(), info);
  return m;
}

nl::Message encode_link_dump() {
  nl::Message m(RTM_GETLINK, 0);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  // Statistics are most of a link message and netkeep never reads them.
  mnl_attr_put_u32(m.hdr(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return m;
}

nl::Message encode_link_get(const std::string& name) {
  nl::Message m(RTM_GETLINK, 0);
  auto* ifi = m.put_header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(m.hdr(), IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(m.hdr(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return m;
}

}  // namespace netkeep::rtnl
