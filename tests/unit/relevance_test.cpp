// Which kernel events wake the daemon: only those that can change a plan.
#include <doctest/doctest.h>
#include <libmnl/libmnl.h>
#include <linux/netconf.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <optional>

#include "backends/netlink.hpp"
#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_route.hpp"
#include "daemon/relevance.hpp"
#include "model/ownership.hpp"

using namespace netkeep;

namespace {

Actual last() {
  Actual a;
  a.links = {{"lan0", "", *Mac::parse("02:00:00:00:00:aa"), 1492, true, ""},  // a NIC: no kind
             {"uplink0", "veth", *Mac::parse("02:00:00:00:00:01"), 1500, true, ""}};
  a.addrs = {
      {"lan0", *Prefix::parse("10.10.0.1/24"), IpAddr::parse("10.10.0.255"), kAddrProtoInterfaces},
      {"lan0", *Prefix::parse("fe80::ff:fe00:aa/64"), std::nullopt, 3}};
  a.routes = {{*Prefix::parse("0.0.0.0/0"), IpAddr::parse("203.0.113.1"), "uplink0",
               kRouteProtoDhcp, 0, IpAddr::parse("203.0.113.62"), 0}};
  return a;
}

std::string name_of(int i) {
  return i == 2 ? "lan0" : i == 3 ? "uplink0" : "";
}

bool relevant(nl::Message m) {
  return rtnl_relevant(m.hdr(), last(), name_of);
}

}  // namespace

TEST_CASE("link events: only changes to what the model holds") {
  rtnl::LinkChange c;
  c.ifindex = 2;
  c.name = "lan0";
  c.mtu = 1492;
  c.mac = *Mac::parse("02:00:00:00:00:aa");
  c.up = true;
  CHECK_FALSE(relevant(rtnl::encode_link_change(c)));  // e.g. a carrier change
  c.mtu = 1500;
  CHECK(relevant(rtnl::encode_link_change(c)));
  c.name = "eth9";  // a link the snapshot does not know
  CHECK(relevant(rtnl::encode_link_change(c)));
}

TEST_CASE("address events: owned addresses and IPv4 on uplink0") {
  Address owned{"", *Prefix::parse("10.10.0.1/24"), IpAddr::parse("10.10.0.255"),
                kAddrProtoInterfaces};
  CHECK_FALSE(relevant(rtnl::encode_addr_replace(2, owned)));  // already known: e.g. a flags change
  auto del = rtnl::encode_addr_replace(2, owned);
  del.hdr()->nlmsg_type = RTM_DELADDR;
  CHECK(relevant(std::move(del)));
  Address ll{"", *Prefix::parse("fe80::1/64"), std::nullopt, 3};  // IFAPROT_KERNEL_LL
  CHECK_FALSE(relevant(rtnl::encode_addr_replace(2, ll)));
  Address foreign_v4{"", *Prefix::parse("198.18.0.5/24"), IpAddr::parse("198.18.0.255"), 0};
  CHECK(relevant(rtnl::encode_addr_replace(3, foreign_v4)));  // on uplink0: swept by the DHCP lease
  CHECK_FALSE(relevant(rtnl::encode_addr_replace(2, foreign_v4)));  // on lan0: someone else's
}

TEST_CASE("route events: owned routes and routes taking their place") {
  Route prefix{
      *Prefix::parse("fe80::/64"), std::nullopt, "", kRouteProtoKernel, 0, std::nullopt, 256};
  CHECK_FALSE(relevant(rtnl::encode_route_replace(3, prefix)));
  Route ra{*Prefix::parse("2001:db8::/64"), IpAddr::parse("fe80::1"), "", 9, 0, std::nullopt, 1024};
  CHECK_FALSE(relevant(rtnl::encode_route_replace(3, ra)));
  Route theirs{*Prefix::parse("0.0.0.0/0"),
               IpAddr::parse("192.0.2.1"),
               "",
               kRouteProtoBoot,
               0,
               std::nullopt,
               0};
  CHECK(relevant(rtnl::encode_route_replace(3, theirs)));  // replaces the DHCP default route
  Route ours{*Prefix::parse("10.99.0.0/16"),
             IpAddr::parse("10.10.0.254"),
             "",
             kRouteProtoNetkeep,
             0,
             std::nullopt,
             0};
  CHECK(relevant(rtnl::encode_route_replace(2, ours)));
}

TEST_CASE("forwarding turned off by another program wakes the daemon; other netconf does not") {
  auto netconf = [](uint8_t family, int32_t index, std::optional<int32_t> forwarding) {
    nl::Message m(RTM_NEWNETCONF, 0);
    m.put_header<netconfmsg>()->ncm_family = family;
    mnl_attr_put_u32(m.hdr(), NETCONFA_IFINDEX, static_cast<uint32_t>(index));
    if (forwarding)
      mnl_attr_put_u32(m.hdr(), NETCONFA_FORWARDING, static_cast<uint32_t>(*forwarding));
    return m;
  };
  Actual a = last();
  a.sysctls = {{"net/ipv4/ip_forward", "1"}, {"net/ipv6/conf/all/forwarding", "1"}};
  auto rel = [&](nl::Message m) { return rtnl_relevant(m.hdr(), a, name_of); };
  CHECK(rel(netconf(AF_INET, NETCONFA_IFINDEX_ALL, 0)));
  CHECK(rel(netconf(AF_INET6, NETCONFA_IFINDEX_ALL, 0)));
  CHECK_FALSE(rel(netconf(AF_INET, NETCONFA_IFINDEX_ALL, 1)));  // as the snapshot says
  CHECK_FALSE(rel(netconf(AF_INET, 2, 0)));                     // one link's: not netkeep's
  CHECK_FALSE(rel(netconf(AF_INET, NETCONFA_IFINDEX_DEFAULT, 0)));
  CHECK_FALSE(rel(netconf(AF_INET, NETCONFA_IFINDEX_ALL, std::nullopt)));  // rp_filter, say
}
