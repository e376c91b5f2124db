// Wire-format tests: build each rtnetlink message, parse it back with the
// snapshot's decoder, compare. No kernel, no root.
#include <doctest/doctest.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>

#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_route.hpp"
#include "model/ownership.hpp"
#include "values.hpp"

using namespace netkeep;
using namespace netkeep::test;

TEST_CASE("bridge create round-trips: name, MAC and kind") {
  auto m = rtnl::encode_bridge_create("lan0", mac("02:00:00:00:00:03"));
  CHECK(m.hdr()->nlmsg_type == RTM_NEWLINK);
  CHECK((m.hdr()->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL)) == (NLM_F_CREATE | NLM_F_EXCL));
  auto l = rtnl::decode_link(m.hdr());
  REQUIRE(l);
  CHECK(l->link.name == "lan0");
  CHECK(l->link.kind == "bridge");
  CHECK(l->link.mac == mac("02:00:00:00:00:03"));
}

TEST_CASE("link changes round-trip and leave unset fields out") {
  rtnl::LinkChange c;
  c.ifindex = 7;
  c.name = "uplink0";
  c.mtu = 1492;
  c.mac = mac("02:00:00:00:00:aa");
  c.master = 9;
  c.up = true;
  auto m = rtnl::encode_link_change(c);
  auto l = rtnl::decode_link(m.hdr());
  REQUIRE(l);
  CHECK(l->ifindex == 7);
  CHECK(l->link.name == "uplink0");
  CHECK(l->link.mtu == 1492);
  CHECK(l->link.mac == mac("02:00:00:00:00:aa"));
  CHECK(l->master_index == 9);
  CHECK(l->link.up);
  CHECK((m.hdr()->nlmsg_flags & NLM_F_CREATE) == 0);  // never creates by accident

  rtnl::LinkChange only_mtu;
  only_mtu.ifindex = 7;
  only_mtu.mtu = 9000;
  auto m2 = rtnl::encode_link_change(only_mtu);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(m2.hdr()));
  CHECK(ifi->ifi_change == 0);  // IFF_UP untouched
  CHECK(m2.hdr()->nlmsg_len == NLMSG_ALIGN(sizeof(nlmsghdr)) + NLMSG_ALIGN(sizeof(ifinfomsg)) + 8);
}

TEST_CASE("IPv4 address replace carries broadcast and the ownership mark") {
  Address a{"", pre("203.0.113.62/25"), ip("203.0.113.127"), kAddrProtoDhcp4};
  auto m = rtnl::encode_addr_replace(3, a);
  CHECK((m.hdr()->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE)) == (NLM_F_CREATE | NLM_F_REPLACE));
  auto back = rtnl::decode_addr(m.hdr());
  REQUIRE(back);
  CHECK(back->ifindex == 3);
  CHECK(back->addr == a);
}

TEST_CASE("IPv4 address message matches hand-written bytes") {
  Address a{"", pre("10.10.0.1/24"), ip("10.10.0.255"), 78};
  auto m = rtnl::encode_addr_replace(2, a);
  const uint8_t want[] = {// ifaddrmsg: family AF_INET, prefixlen 24, flags 0, scope 0, index 2
                          2, 24, 0, 0, 2, 0, 0, 0,
                          // IFA_LOCAL 10.10.0.1
                          8, 0, IFA_LOCAL, 0, 10, 10, 0, 1,
                          // IFA_ADDRESS 10.10.0.1
                          8, 0, IFA_ADDRESS, 0, 10, 10, 0, 1,
                          // IFA_BROADCAST 10.10.0.255
                          8, 0, IFA_BROADCAST, 0, 10, 10, 0, 255,
                          // IFA_PROTO 78, padded to 4 bytes
                          5, 0, IFA_PROTO, 0, 78, 0, 0, 0};
  REQUIRE(m.hdr()->nlmsg_len == sizeof(nlmsghdr) + sizeof want);
  CHECK(std::memcmp(mnl_nlmsg_get_payload(m.hdr()), want, sizeof want) == 0);
}

TEST_CASE("IPv6 address round-trips without broadcast") {
  Address a{"", pre("2001:db8:4a00::1/64"), std::nullopt, kAddrProtoDhcp6};
  auto back = rtnl::decode_addr(rtnl::encode_addr_replace(4, a).hdr());
  REQUIRE(back);
  CHECK(back->addr == a);
  auto del = rtnl::encode_addr_delete(4, a);
  CHECK(del.hdr()->nlmsg_type == RTM_DELADDR);
}

TEST_CASE("routes round-trip: gateway, scope, protocol, source, metric") {
  Route def{pre("0.0.0.0/0"),  ip("203.0.113.1"),  "", kRouteProtoDhcp,
            RT_SCOPE_UNIVERSE, ip("203.0.113.62"), 0};
  Route host{pre("203.0.113.1/32"), std::nullopt,       "", kRouteProtoDhcp,
             RT_SCOPE_LINK,         ip("203.0.113.62"), 0};
  Route v6{pre("2001:db8:5::/64"), ip("fe80::2"), "",  kRouteProtoNetkeep,
           RT_SCOPE_UNIVERSE,      std::nullopt,  1024};
  for (const Route& r : {def, host, v6}) {
    auto m = rtnl::encode_route_replace(5, r);
    auto back = rtnl::decode_route(m.hdr());
    REQUIRE(back);
    CHECK(back->oif == 5);
    CHECK(back->route == r);
  }
}

TEST_CASE("route dumps: other tables, non-unicast and multipath are not netkeep's") {
  Route r{pre("10.0.0.0/8"), ip("10.0.0.1"), "", 4, 0, std::nullopt, 0};
  auto m = rtnl::encode_route_replace(5, r);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(m.hdr()));
  rtm->rtm_type = RTN_BLACKHOLE;
  CHECK_FALSE(rtnl::decode_route(m.hdr()));
  rtm->rtm_type = RTN_UNICAST;
  // RTA_TABLE is the last attribute; point it at table 100.
  auto* table =
      reinterpret_cast<nlattr*>(reinterpret_cast<char*>(m.hdr()) + m.hdr()->nlmsg_len - 8);
  REQUIRE(mnl_attr_get_type(table) == RTA_TABLE);
  mnl_attr_put_u32(m.hdr(), RTA_MULTIPATH, 0);
  CHECK_FALSE(rtnl::decode_route(m.hdr()));
}

TEST_CASE("kernel errors carry the extended-ACK message") {
  // NLMSG_ERROR with NLM_F_CAPPED | NLM_F_ACK_TLVS: errno, the request's
  // header, then NLMSGERR_ATTR_MSG.
  alignas(4) char buf[256] = {};
  auto* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
  auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
  err->error = -EINVAL;
  err->msg.nlmsg_len = 1000;  // ignored when capped
  mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "mtu greater than device maximum");
  auto e = nl::decode_error(nlh);
  CHECK(e.code == EINVAL);
  CHECK(e.message == "Invalid argument (mtu greater than device maximum)");

  nlh->nlmsg_flags = 0;  // no TLVs: strerror only
  CHECK(nl::decode_error(nlh).message == "Invalid argument");

  err->error = 0;  // an ACK: nothing to say
  CHECK(nl::decode_error(nlh).code == 0);
  CHECK(nl::decode_error(nlh).message.empty());
}

TEST_CASE("truncated messages are rejected, not read past their end") {
  auto m = rtnl::encode_link_change({});
  m.hdr()->nlmsg_len = sizeof(nlmsghdr) + 2;  // shorter than ifinfomsg
  CHECK_FALSE(rtnl::decode_link(m.hdr()));
  Address a{"", pre("10.0.0.1/8"), std::nullopt, 0};
  auto am = rtnl::encode_addr_replace(1, a);
  am.hdr()->nlmsg_len = sizeof(nlmsghdr) + sizeof(ifaddrmsg) + 4;  // IFA_LOCAL header only
  CHECK_FALSE(rtnl::decode_addr(am.hdr()));
}
