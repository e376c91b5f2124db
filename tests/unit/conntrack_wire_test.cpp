// ctnetlink messages (backends/conntrack.hpp): the filtered dump request,
// an entry as the kernel sends it, which FlowsEnd it belongs to, and the
// delete that names exactly that entry; the daemon's index of entries kept
// from events (backends/flow_index.hpp). No kernel, no root.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cstring>

#include "backends/conntrack.hpp"
#include "backends/flow_index.hpp"

using namespace netkeep;

namespace {

constexpr uint16_t kNew = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;

void put_tuple(nlmsghdr* h, uint16_t type, std::array<uint8_t, 4> src, std::array<uint8_t, 4> dst,
               uint8_t proto, uint16_t sport, uint16_t dport) {
  nlattr* t = mnl_attr_nest_start(h, type);
  nlattr* ip = mnl_attr_nest_start(h, CTA_TUPLE_IP);
  mnl_attr_put(h, CTA_IP_V4_SRC, 4, src.data());
  mnl_attr_put(h, CTA_IP_V4_DST, 4, dst.data());
  mnl_attr_nest_end(h, ip);
  nlattr* p = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(h, CTA_PROTO_NUM, proto);
  mnl_attr_put_u16(h, CTA_PROTO_SRC_PORT, htons(sport));
  mnl_attr_put_u16(h, CTA_PROTO_DST_PORT, htons(dport));
  mnl_attr_nest_end(h, p);
  mnl_attr_nest_end(h, t);
}

// What the kernel dumps (or announces: `msg` NEW or DELETE) for a stream
// from 198.51.100.7:`sport` to the router's 203.0.113.62:5000, DNATed to
// 10.10.0.`host`:5000.
nl::Message dnat_entry(uint32_t status = IPS_DST_NAT | IPS_CONFIRMED, uint16_t sport = 40000,
                       uint8_t host = 23, uint8_t msg = IPCTNL_MSG_CT_NEW) {
  nl::Message m(static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg), NLM_F_MULTI);
  auto* g = m.put_header<nfgenmsg>();
  g->nfgen_family = AF_INET;
  put_tuple(m.hdr(), CTA_TUPLE_ORIG, {198, 51, 100, 7}, {203, 0, 113, 62}, 17, sport, 5000);
  put_tuple(m.hdr(), CTA_TUPLE_REPLY, {10, 10, 0, host}, {198, 51, 100, 7}, 17, 5000, sport);
  mnl_attr_put_u32(m.hdr(), CTA_STATUS, htonl(status));
  mnl_attr_put_u32(m.hdr(), CTA_ID, htonl(0x1234u + sport));
  return m;
}

FlowsEnd udp5000(uint8_t host = 23) {
  return {17, {5000, 5000}, {10, 10, 0, host}, {5000, 5000}, true, {}};
}

const nlattr* attr(const nlmsghdr* h, uint16_t type) {
  for (const nlattr* a : nl::Attrs::of(h, sizeof(nfgenmsg)))
    if ((a->nla_type & NLA_TYPE_MASK) == type) return a;
  return nullptr;
}

}  // namespace

TEST_CASE("conntrack: an entry decodes; a FlowsEnd matches it by reply source and mapped port") {
  auto m = dnat_entry();
  auto e = conntrack::decode(m.hdr());
  REQUIRE(e);
  CHECK(e->proto == 17);
  CHECK(e->orig_dport == 5000);
  CHECK(e->reply_src == std::array<uint8_t, 4>{10, 10, 0, 23});
  CHECK(e->reply_sport == 5000);
  CHECK(e->id == htonl(0x1234 + 40000));
  CHECK(conntrack::matches(*e, udp5000()));
  CHECK(!conntrack::matches(*e, udp5000(24)));  // another destination's
  FlowsEnd tcp = udp5000();
  tcp.proto = 6;
  CHECK(!conntrack::matches(*e, tcp));
  // A range 4990-5010 -> 10.10.0.23:6990-7010 maps 5000 to 7000, not 5000.
  CHECK(!conntrack::matches(*e, {17, {4990, 5010}, {10, 10, 0, 23}, {6990, 7010}, false, {}}));
  CHECK(conntrack::matches(*e, {17, {4990, 5010}, {10, 10, 0, 23}, {4990, 5010}, false, {}}));
  // Not destination-NATed: the LAN host's own flow to that port, say.
  auto plain = dnat_entry(IPS_CONFIRMED);
  auto p = conntrack::decode(plain.hdr());
  REQUIRE(p);
  CHECK(!conntrack::matches(*p, udp5000()));
}

TEST_CASE("conntrack: the delete names the entry by its original tuple and id") {
  auto m = dnat_entry();
  auto e = conntrack::decode(m.hdr());
  REQUIRE(e);
  auto d = conntrack::encode_delete(*e);
  CHECK(d.hdr()->nlmsg_type == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE));
  const nlattr* orig = attr(d.hdr(), CTA_TUPLE_ORIG);
  REQUIRE(orig);
  CHECK(std::memcmp(orig, attr(m.hdr(), CTA_TUPLE_ORIG), orig->nla_len) == 0);
  const nlattr* id = attr(d.hdr(), CTA_ID);
  REQUIRE(id);
  CHECK(mnl_attr_get_u32(id) == htonl(0x1234 + 40000));
  CHECK(!attr(d.hdr(), CTA_TUPLE_REPLY));
}

TEST_CASE("conntrack: the dump asks the kernel for destination-NATed entries, filtered by reply") {
  auto one = conntrack::encode_dump(nullptr);
  CHECK(mnl_attr_get_u32(attr(one.hdr(), CTA_STATUS)) == htonl(IPS_DST_NAT));
  CHECK(mnl_attr_get_u32(attr(one.hdr(), CTA_STATUS_MASK)) == htonl(IPS_DST_NAT));
  CHECK(!attr(one.hdr(), CTA_FILTER));

  const FlowsEnd f = udp5000();
  auto m = conntrack::encode_dump(&f);
  const nlattr* filter = attr(m.hdr(), CTA_FILTER);
  REQUIRE(filter);
  CHECK((filter->nla_type & NLA_F_NESTED) != 0);  // the kernel parses it strictly
  uint32_t flags = 0;
  for (const nlattr* a : nl::Attrs::nested(filter))
    if (mnl_attr_get_type(a) == CTA_FILTER_REPLY_FLAGS) flags = mnl_attr_get_u32(a);
  CHECK(flags == ((1u << 0) | (1u << 3) | (1u << 4)));  // source address, protocol, source port
  // The reply tuple it filters by: from the old destination, at its port.
  std::array<uint8_t, 4> src{};
  uint16_t sport = 0;
  uint8_t proto = 0;
  for (const nlattr* a : nl::Attrs::nested(attr(m.hdr(), CTA_TUPLE_REPLY)))
    for (const nlattr* b : nl::Attrs::nested(a)) {
      if (mnl_attr_get_type(a) == CTA_TUPLE_IP && mnl_attr_get_type(b) == CTA_IP_V4_SRC)
        std::memcpy(src.data(), mnl_attr_get_payload(b), 4);
      if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO && mnl_attr_get_type(b) == CTA_PROTO_NUM)
        proto = mnl_attr_get_u8(b);
      if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO && mnl_attr_get_type(b) == CTA_PROTO_SRC_PORT)
        sport = ntohs(mnl_attr_get_u16(b));
    }
  CHECK(src == std::array<uint8_t, 4>{10, 10, 0, 23});
  CHECK(proto == 17);
  CHECK(sport == 5000);
  // A range: the source port is left to matches().
  const FlowsEnd range{17, {6000, 6010}, {10, 10, 0, 99}, {6000, 6010}, false, {}};
  auto r = conntrack::encode_dump(&range);
  for (const nlattr* a : nl::Attrs::nested(attr(r.hdr(), CTA_FILTER)))
    if (mnl_attr_get_type(a) == CTA_FILTER_REPLY_FLAGS)
      CHECK(mnl_attr_get_u32(a) == ((1u << 0) | (1u << 3)));
}

TEST_CASE("conntrack: what is not an entry is not decoded") {
  nl::Message done(NLMSG_DONE, 0);
  CHECK(!conntrack::decode(done.hdr()));
  nl::Message bare(kNew, 0);
  bare.put_header<nfgenmsg>()->nfgen_family = AF_INET;
  CHECK(!conntrack::decode(bare.hdr()));
}

TEST_CASE("flow index: NEW events add destination-NATed entries, DESTROY events remove them") {
  FlowIndex index;
  const FlowsEnd f = udp5000();
  for (uint16_t sport = 40000; sport < 40003; sport++)
    CHECK(index.apply(dnat_entry(IPS_DST_NAT, sport).hdr()));
  CHECK(index.apply(dnat_entry(IPS_DST_NAT, 41000, 24).hdr()));  // another destination's
  CHECK(index.apply(dnat_entry(IPS_CONFIRMED, 42000).hdr()));    // not NATed: not kept
  CHECK(index.size() == 4);
  CHECK(index.find({&f}).front().size() == 3);
  // A range forwarding finds them at the port its DNAT mapped 5000 to.
  const FlowsEnd range{17, {4990, 5010}, {10, 10, 0, 23}, {4990, 5010}, false, {}};
  const FlowsEnd shifted{17, {4990, 5010}, {10, 10, 0, 23}, {6990, 7010}, false, {}};
  CHECK(index.find({&range}).front().size() == 3);
  CHECK(index.find({&shifted}).front().empty());
  // The same entry announced twice (an event queued during the dump) is one.
  index.apply(dnat_entry(IPS_DST_NAT, 40000).hdr());
  CHECK(index.size() == 4);
  CHECK(index.apply(dnat_entry(IPS_DST_NAT, 40001, 23, IPCTNL_MSG_CT_DELETE).hdr()));
  auto found = index.find({&f}).front();
  REQUIRE(found.size() == 2);
  for (const auto& e : found)
    CHECK(e.orig_tuple != conntrack::decode(dnat_entry(IPS_DST_NAT, 40001).hdr())->orig_tuple);
  // Entries found gone when deleted are forgotten; the other destination's stays.
  index.forget(found);
  CHECK(index.find({&f}).front().empty());
  CHECK(index.size() == 1);
  const FlowsEnd g = udp5000(24);
  CHECK(index.find({&f, &g})[1].size() == 1);
}

TEST_CASE("flow index: a dump replaces what the events said; other messages are not events") {
  FlowIndex index;
  index.apply(dnat_entry(IPS_DST_NAT, 40000).hdr());
  std::vector<conntrack::Entry> dumped;
  for (uint16_t sport : {50000, 50001})
    dumped.push_back(*conntrack::decode(dnat_entry(IPS_DST_NAT, sport).hdr()));
  dumped.push_back(*conntrack::decode(dnat_entry(IPS_CONFIRMED, 50002).hdr()));
  index.reset(dumped);
  CHECK(index.size() == 2);
  const FlowsEnd f = udp5000();
  CHECK(index.find({&f}).front().size() == 2);
  nl::Message done(NLMSG_DONE, 0);
  CHECK(!index.apply(done.hdr()));
  nl::Message nft(static_cast<uint16_t>(NFNL_SUBSYS_NFTABLES << 8), 0);
  nft.put_header<nfgenmsg>()->nfgen_family = AF_INET;
  CHECK(!index.apply(nft.hdr()));
  nl::Message bare(kNew, 0);
  bare.put_header<nfgenmsg>()->nfgen_family = AF_INET6;  // no IPv4 tuple: an event, not kept
  CHECK(index.apply(bare.hdr()));
  CHECK(index.size() == 2);
}
