#include "reconciler/nft_forwarding.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <array>

#include "reconciler/nft_expr.hpp"

namespace netkeep {

namespace {

using namespace expr;

// The forwarding chain: the guard once, then three map lookups per protocol.
//   ip daddr 127.0.0.0/8 return
//   ip daddr LAN return                      (with lan0's prefix known)
//   fib daddr type != 2 return
//   dnat ip to tcp dport map @netkeep-portforwardings-tcp
//   dnat ip to tcp dport map @netkeep-portforwardings-tcp-ranges
//   dnat ip to tcp dport map @netkeep-portforwardings-tcp-ranges-to-port
//   (the same three for udp)
// The guard keeps router7's meaning: only packets addressed to the router
// itself (RTN_LOCAL), not to loopback or the LAN, are forwarded. Every new
// connection costs the guard (one FIB lookup) and at most three map lookups
// (the other protocol's rules stop at the protocol), however many
// forwardings there are. A lookup that finds nothing ends its rule.
NftRule return_if(const Prefix& p) {
  ExprWriter w;
  addr_match(w, kIp4Daddr, NFT_CMP_EQ, p);
  verdict_code(w, NFT_RETURN);
  return rule(w);
}

NftRule return_unless_local() {
  ExprWriter w;
  w.begin("fib")
      .be32(NFTA_FIB_DREG, kReg1)
      .be32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE)
      .be32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR)
      .end();
  cmp(w, NFT_CMP_NEQ, host32(RTN_LOCAL));
  verdict_code(w, NFT_RETURN);
  return rule(w);
}

// [ meta load l4proto => reg 1 ] [ cmp eq reg 1 PROTO ]
// [ payload load 2b @ transport header + 2 => reg 1 ]
// [ lookup reg 1 set MAP dreg 1 ]
// [ nat dnat ip addr_min reg 1 addr_max reg 10 proto_min reg 9 proto_max reg 11 ]
// The ranges map's data is address . port range, interval form: addr_min,
// port_min, addr_max, port_max in 32-bit registers 1 (NFT_REG32_00), 9, 10
// and 11, as nft lays out `dnat ip to tcp dport map @m` for such a map; the
// other maps' is address . port, in registers 1 and 9: nft sends no
// addr_max or proto_max for them, and the kernel lists each as its min.
NftRule dispatch(uint8_t proto, FwdShape shape) {
  const bool range = shape == FwdShape::range;
  ExprWriter w;
  meta(w, NFT_META_L4PROTO);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(proto)));
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  w.begin("lookup")
      .str(NFTA_LOOKUP_SET, forwarding_map(proto, shape))
      .be32(NFTA_LOOKUP_SREG, kReg1)
      .be32(NFTA_LOOKUP_DREG, kReg1)
      .be32(NFTA_LOOKUP_FLAGS, 0)
      .end();
  w.begin("nat")
      .be32(NFTA_NAT_TYPE, NFT_NAT_DNAT)
      .be32(NFTA_NAT_FAMILY, NFPROTO_IPV4)
      .be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1)
      .be32(NFTA_NAT_REG_ADDR_MAX, range ? NFT_REG32_02 : NFT_REG_1)
      .be32(NFTA_NAT_REG_PROTO_MIN, NFT_REG32_01)
      .be32(NFTA_NAT_REG_PROTO_MAX, range ? NFT_REG32_03 : NFT_REG32_01)
      .be32(NFTA_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)
      .end();
  return rule(w);
}

// ct status dnat meta l4proto PROTO ct original proto-dst @SET:
// [ ct load status => reg 1 ] [ bitwise & 0x20 ] [ cmp neq 0 ]
// [ meta load l4proto => reg 1 ] [ cmp eq reg 1 PROTO ]
// [ ct load proto_dst => reg 1 , dir original ] [ lookup reg 1 set SET ]
// The lookup bumps the matching element's counter, for every packet of the
// connection in either direction (both pass the forward hook).
NftRule count_traffic(uint8_t proto, FwdShape shape) {
  ExprWriter w;
  w.begin("ct").be32(NFTA_CT_DREG, kReg1).be32(NFTA_CT_KEY, NFT_CT_STATUS).end();
  bitwise(w, host32(IPS_DST_NAT));
  cmp(w, NFT_CMP_NEQ, host32(0));
  meta(w, NFT_META_L4PROTO);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(proto)));
  w.begin("ct")
      .be32(NFTA_CT_DREG, kReg1)
      .be32(NFTA_CT_KEY, NFT_CT_PROTO_DST)
      .u8(NFTA_CT_DIRECTION, IP_CT_DIR_ORIGINAL)
      .end();
  w.begin("lookup")
      .str(NFTA_LOOKUP_SET, count_set(proto, shape))
      .be32(NFTA_LOOKUP_SREG, kReg1)
      .be32(NFTA_LOOKUP_FLAGS, 0)
      .end();
  return rule(w);
}

// Each port interval a forwarding wins (first match in file order) is one
// element, of the map of its shape: a dest_port range is the forwarding's
// own port range, so DNAT keeps the connection's port; a single dest_port
// maps every port to it. The six maps, in the order of kMaps (tcp's
// shapes, then udp's), in one pass.
std::array<NftMap, 6> forwarding_maps(const std::vector<Forwarding>& fw,
                                      const std::vector<PortRun>& runs) {
  auto slot = [](uint8_t proto, FwdShape shape) {
    return (proto == IPPROTO_UDP ? 3 : 0) + static_cast<size_t>(shape);
  };
  auto elem = [&](const PortRun& r) {
    const Forwarding& f = fw[r.forwarding];
    NftMapElem e;
    e.first = r.ports.first;
    e.last = r.ports.last;
    std::copy_n(f.dest_addr.bytes.begin(), 4, e.addr.begin());
    e.to_first = f.dest_port.first;
    e.to_last = f.dest_port.last;
    return e.first == e.last ? with_port_data(e) : e;
  };
  std::array<size_t, 6> sizes{};
  for (const PortRun& r : runs) sizes[slot(r.proto, shape_of(elem(r)))]++;
  std::array<NftMap, 6> maps;
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
    for (FwdShape shape : kFwdShapes) {
      NftMap& m = maps[slot(proto, shape)];
      m = NftMap{NftFamily::ip, "nat", forwarding_map(proto, shape), true, {}};
      m.elems.reserve(sizes[slot(proto, shape)]);
    }
  for (const PortRun& r : runs) {
    const NftMapElem e = elem(r);
    maps[slot(r.proto, shape_of(e))].elems.push_back(e);
  }
  return maps;
}

}  // namespace

namespace {

struct SetName {
  const char* name;
  uint8_t proto;
  FwdShape shape;
};
constexpr SetName kMaps[] = {{kForwardingMapTcp, IPPROTO_TCP, FwdShape::port},
                             {kForwardingRangesTcp, IPPROTO_TCP, FwdShape::range},
                             {kForwardingToPortTcp, IPPROTO_TCP, FwdShape::range_to_port},
                             {kForwardingMapUdp, IPPROTO_UDP, FwdShape::port},
                             {kForwardingRangesUdp, IPPROTO_UDP, FwdShape::range},
                             {kForwardingToPortUdp, IPPROTO_UDP, FwdShape::range_to_port}};
constexpr SetName kCountSets[] = {{kCountSetTcp, IPPROTO_TCP, FwdShape::port},
                                  {kCountRangesTcp, IPPROTO_TCP, FwdShape::range},
                                  {kCountToPortTcp, IPPROTO_TCP, FwdShape::range_to_port},
                                  {kCountSetUdp, IPPROTO_UDP, FwdShape::port},
                                  {kCountRangesUdp, IPPROTO_UDP, FwdShape::range},
                                  {kCountToPortUdp, IPPROTO_UDP, FwdShape::range_to_port}};

template <size_t N>
const char* name_of(const SetName (&names)[N], uint8_t proto, FwdShape shape) {
  for (const auto& n : names)
    if (n.proto == proto && n.shape == shape) return n.name;
  return names[static_cast<size_t>(shape)].name;  // anything but UDP is TCP
}

template <size_t N>
const SetName* find_name(const SetName (&names)[N], std::string_view name) {
  for (const auto& n : names)
    if (name == n.name) return &n;
  return nullptr;
}

}  // namespace

const char* forwarding_map(uint8_t proto, FwdShape shape) {
  return name_of(kMaps, proto, shape);
}

uint8_t forwarding_map_proto(std::string_view name) {
  const SetName* n = find_name(kMaps, name);
  return n ? n->proto : 0;
}

const char* count_set(uint8_t proto, FwdShape shape) {
  return name_of(kCountSets, proto, shape);
}

uint8_t count_set_proto(std::string_view name) {
  const SetName* n = find_name(kCountSets, name);
  return n ? n->proto : 0;
}

FwdShape set_shape(std::string_view name) {
  const SetName* n = find_name(kMaps, name);
  if (!n) n = find_name(kCountSets, name);
  return n ? n->shape : FwdShape::port;
}

std::vector<ForwardingCounts> forwarding_counts(const std::vector<NftMap>& maps) {
  std::vector<ForwardingCounts> out;
  for (const auto& m : maps) {
    const uint8_t proto = forwarding_map_proto(m.name);
    if (m.kind != NftMapKind::dnat || !proto) continue;
    const NftMap* count = nullptr;
    for (const auto& c : maps)
      if (c.kind == NftMapKind::count && c.name == count_set(proto, set_shape(m.name))) count = &c;
    for (const auto& e : m.elems) {
      const NftMapElem* c = count ? find_interval(count->elems, e.first, e.last) : nullptr;
      out.push_back({proto, e, e.packets, c ? c->packets : 0, c ? c->bytes : 0});
    }
  }
  // By protocol and port, whichever map an element is in.
  std::stable_sort(out.begin(), out.end(),
                   [](const ForwardingCounts& a, const ForwardingCounts& b) {
                     return std::pair(a.proto, a.elem.first) < std::pair(b.proto, b.elem.first);
                   });
  return out;
}

ForwardingDispatch forwarding_dispatch(const std::optional<Prefix>& lan,
                                       const std::vector<Forwarding>& forwardings,
                                       const std::vector<PortRun>& runs, bool count_elems) {
  ForwardingDispatch d;
  static const Prefix loopback = *Prefix::parse("127.0.0.0/8");
  d.chain.push_back(return_if(loopback));
  if (lan) d.chain.push_back(return_if(*lan));
  d.chain.push_back(return_unless_local());
  std::array<NftMap, 6> maps = forwarding_maps(forwardings, runs);
  NftMap* next = maps.data();
  for (uint8_t proto : {IPPROTO_TCP, IPPROTO_UDP})
    for (FwdShape shape : kFwdShapes) {
      d.chain.push_back(dispatch(proto, shape));
      d.count_rules.push_back(count_traffic(proto, shape));
      NftMap m = std::move(*next++);
      NftMap c{NftFamily::ip, kCountTable, count_set(proto, shape), true, {}, NftMapKind::count};
      if (count_elems) {
        c.elems.reserve(m.elems.size());
        for (const auto& e : m.elems)
          c.elems.push_back(NftMapElem{e.first, e.last, {}, 0, 0, 0, 0});
      } else {
        c.keys_of_map = true;
      }
      d.maps.push_back(std::move(m));
      d.maps.push_back(std::move(c));
    }
  return d;
}

}  // namespace netkeep
