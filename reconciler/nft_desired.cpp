// Each expression is labelled with what `nft --debug=netlink` prints for it.
#include "reconciler/nft_desired.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

namespace netkeep {

namespace {

// Each helper writes one expression with its attributes in the order the
// kernel dumps them, so the rule's bytes equal the kernel's dump of it.
constexpr uint32_t kReg1 = NFT_REG_1;

std::string be16(uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  return std::string(b, 2);
}
std::string host32(uint32_t v) {  // cmp data for a host-order register value
  return std::string(reinterpret_cast<const char*>(&v), 4);
}
std::string_view bytes(const IpAddr& a, size_t n) {
  return {reinterpret_cast<const char*>(a.bytes.data()), n};
}

// [ payload load LENb @ BASE header + OFFSET => reg 1 ]
void payload(ExprWriter& w, uint32_t base, uint32_t offset, uint32_t len) {
  w.begin("payload")
      .be32(NFTA_PAYLOAD_DREG, kReg1)
      .be32(NFTA_PAYLOAD_BASE, base)
      .be32(NFTA_PAYLOAD_OFFSET, offset)
      .be32(NFTA_PAYLOAD_LEN, len)
      .end();
}

// [ cmp OP reg 1 DATA ]
void cmp(ExprWriter& w, uint32_t op, std::string_view data) {
  w.begin("cmp").be32(NFTA_CMP_SREG, kReg1).be32(NFTA_CMP_OP, op).data(NFTA_CMP_DATA, data).end();
}

// [ bitwise reg 1 = ( reg 1 & MASK ) ^ 0 ]
void bitwise(ExprWriter& w, std::string_view mask) {
  const std::string zeros(mask.size(), '\0');
  w.begin("bitwise")
      .be32(NFTA_BITWISE_SREG, kReg1)
      .be32(NFTA_BITWISE_DREG, kReg1)
      .be32(NFTA_BITWISE_LEN, static_cast<uint32_t>(mask.size()))
      .be32(NFTA_BITWISE_OP, 0)  // mask and xor
      .data(NFTA_BITWISE_MASK, mask)
      .data(NFTA_BITWISE_XOR, zeros)
      .end();
}

// [ meta load KEY => reg 1 ]
void meta(ExprWriter& w, uint32_t key) {
  w.begin("meta").be32(NFTA_META_KEY, key).be32(NFTA_META_DREG, kReg1).end();
}

// [ immediate reg N DATA ]
void immediate(ExprWriter& w, uint32_t reg, std::string_view data) {
  w.begin("immediate").be32(NFTA_IMMEDIATE_DREG, reg).data(NFTA_IMMEDIATE_DATA, data).end();
}

// [ meta load IIFNAME/OIFNAME => reg 1 ] [ cmp eq reg 1 NAME ]: names are
// compared as IFNAMSIZ bytes, NUL-padded.
void ifname(ExprWriter& w, uint32_t key, const std::string& name) {
  std::string padded = name;
  padded.resize(16, '\0');
  meta(w, key);
  cmp(w, NFT_CMP_EQ, padded);
}

constexpr uint32_t kSaddr = 12, kDaddr = 16;  // offsets in the IPv4 header

// ip saddr/daddr ==/!= PREFIX: a whole-byte prefix loads only its bytes;
// any other loads the address and masks it, as nft 1.0 does.
void addr_match(ExprWriter& w, uint32_t offset, uint32_t op, const Prefix& p) {
  Prefix net = p.network();
  if (net.len % 8 == 0 && net.len > 0) {
    payload(w, NFT_PAYLOAD_NETWORK_HEADER, offset, net.len / 8);
    cmp(w, op, bytes(net.addr, net.len / 8));
    return;
  }
  payload(w, NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
  std::string mask(4, '\0');
  for (int i = 0; i < 4; i++) {
    int keep = std::clamp(static_cast<int>(net.len) - i * 8, 0, 8);
    mask[i] = static_cast<char>(0xff00 >> keep);
  }
  bitwise(w, mask);
  cmp(w, op, bytes(net.addr, 4));
}

void masq(ExprWriter& w) {
  w.begin("masq").end();  // [ masq ]
}

NftRule rule(ExprWriter& w) {
  return {w.take(), 0};
}

NftRule jump(const std::string& chain) {
  // [ immediate reg 0 jump -> CHAIN ]
  ExprWriter w;
  w.begin("immediate")
      .be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT)
      .verdict(NFTA_IMMEDIATE_DATA, NFT_JUMP, chain)
      .end();
  return rule(w);
}

NftRule counter_ref(const std::string& name) {
  // [ objref type 1 name NAME ]
  ExprWriter w;
  w.begin("objref")
      .str(NFTA_OBJREF_IMM_NAME, name)
      .be32(NFTA_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER)
      .end();
  return rule(w);
}

// oifname "UPLINK" masquerade
NftRule masquerade_uplink(const std::string& uplink) {
  ExprWriter w;
  ifname(w, NFT_META_OIFNAME, uplink);
  masq(w);
  return rule(w);
}

// Hairpin NAT: a LAN host connecting to a forwarded port on the uplink
// address is DNATed back out of lan0; masquerading it makes the reply come
// back through the router instead of going straight to the client.
//
// router7 writes this as `iifname "lan0" oifname "lan0" ct status 0x20
// masquerade`. On current kernels (a netfilter change from late 2019)
// POSTROUTING of a forwarded packet knows its input device, so that matches when lan0 is a NIC; but
// when lan0 is a bridge and br_netfilter's iptables hook is on
// (net.bridge.bridge-nf-call-iptables=1, which docker sets), the packet
// takes br_netfilter's path and the rule no longer matches (seen with
// traffic). Matching the LAN by source address works in both, so with lan0's prefix
// known netkeep writes `oifname "lan0" ip saddr PREFIX ct status 0x20
// masquerade`; without it, router7's rule.
NftRule hairpin_masquerade(const std::optional<Prefix>& lan) {
  ExprWriter w;
  if (lan) {
    ifname(w, NFT_META_OIFNAME, "lan0");
    addr_match(w, kSaddr, NFT_CMP_EQ, *lan);
  } else {
    ifname(w, NFT_META_IIFNAME, "lan0");
    ifname(w, NFT_META_OIFNAME, "lan0");
  }
  // [ ct load status => reg 1 ] [ bitwise & 0x20 (IPS_DST_NAT) ] [ cmp neq 0 ]
  w.begin("ct").be32(NFTA_CT_DREG, kReg1).be32(NFTA_CT_KEY, NFT_CT_STATUS).end();
  bitwise(w, host32(0x20));
  cmp(w, NFT_CMP_NEQ, host32(0));
  masq(w);
  return rule(w);
}

// oifname "UPLINK" tcp flags 0x2 tcp option maxseg size set rt mtu
NftRule clamp_mss(const std::string& uplink) {
  ExprWriter w;
  ifname(w, NFT_META_OIFNAME, uplink);
  meta(w, NFT_META_L4PROTO);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(IPPROTO_TCP)));
  // tcp flags 0x2: [ payload load 1b @ transport header + 13 ] [ bitwise & 0x02 ] [ cmp neq 0 ]
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
  bitwise(w, std::string(1, '\x02'));
  cmp(w, NFT_CMP_NEQ, std::string(1, '\0'));
  // [ rt load tcpmss => reg 1 ] [ byteorder reg 1 = hton(reg 1, 2, 2) ]
  // [ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]
  w.begin("rt").be32(NFTA_RT_KEY, NFT_RT_TCPMSS).be32(NFTA_RT_DREG, kReg1).end();
  w.begin("byteorder")
      .be32(NFTA_BYTEORDER_SREG, kReg1)
      .be32(NFTA_BYTEORDER_DREG, kReg1)
      .be32(NFTA_BYTEORDER_OP, NFT_BYTEORDER_HTON)
      .be32(NFTA_BYTEORDER_LEN, 2)
      .be32(NFTA_BYTEORDER_SIZE, 2)
      .end();
  // The kernel dumps NFTA_EXTHDR_FLAGS for an option write, though it
  // refuses it on input; the rule is modelled as dumped (see nft_codec).
  w.begin("exthdr")
      .be32(NFTA_EXTHDR_SREG, kReg1)
      .u8(NFTA_EXTHDR_TYPE, 2)  // TCPOPT_MAXSEG
      .be32(NFTA_EXTHDR_OFFSET, 2)
      .be32(NFTA_EXTHDR_LEN, 2)
      .be32(NFTA_EXTHDR_FLAGS, 0)
      .be32(NFTA_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT)
      .end();
  return rule(w);
}

BaseChain base(const char* type, uint32_t hook, int32_t priority) {
  return {type, hook, priority, NF_ACCEPT};
}

}  // namespace

namespace {

// ip daddr != 127.0.0.0/8 [ip daddr != LAN] fib daddr type 2 PROTO dport PORT
//   dnat to ADDR:PORT
NftRule forwarding_rule(ExprWriter& w, const Forwarding& f, const std::optional<Prefix>& lan) {
  static const Prefix loopback = *Prefix::parse("127.0.0.0/8");
  addr_match(w, kDaddr, NFT_CMP_NEQ, loopback);
  if (lan) addr_match(w, kDaddr, NFT_CMP_NEQ, *lan);
  // fib daddr type 2: only packets addressed to the router itself (RTN_LOCAL),
  // so forwarded traffic to other hosts is never redirected.
  w.begin("fib")
      .be32(NFTA_FIB_DREG, kReg1)
      .be32(NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE)
      .be32(NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR)
      .end();
  cmp(w, NFT_CMP_EQ, host32(RTN_LOCAL));
  meta(w, NFT_META_L4PROTO);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(f.proto)));
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);  // dport
  if (f.port.single()) {
    cmp(w, NFT_CMP_EQ, be16(f.port.first));
  } else {
    cmp(w, NFT_CMP_GTE, be16(f.port.first));
    cmp(w, NFT_CMP_LTE, be16(f.port.last));
  }
  immediate(w, NFT_REG_1, bytes(f.dest_addr, 4));
  immediate(w, NFT_REG_2, be16(f.dest_port.first));
  uint32_t proto_max = NFT_REG_2;
  if (!f.dest_port.single()) {
    immediate(w, NFT_REG_3, be16(f.dest_port.last));
    proto_max = NFT_REG_3;
  }
  // [ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg N flags 0x3 ]
  w.begin("nat")
      .be32(NFTA_NAT_TYPE, NFT_NAT_DNAT)
      .be32(NFTA_NAT_FAMILY, NFPROTO_IPV4)
      .be32(NFTA_NAT_REG_ADDR_MIN, NFT_REG_1)
      .be32(NFTA_NAT_REG_ADDR_MAX, NFT_REG_1)
      .be32(NFTA_NAT_REG_PROTO_MIN, NFT_REG_2)
      .be32(NFTA_NAT_REG_PROTO_MAX, proto_max)
      .be32(NFTA_NAT_FLAGS, NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)
      .end();
  return rule(w);
}

}  // namespace

NftRule forwarding_rule(const Forwarding& f, const std::optional<Prefix>& lan) {
  ExprWriter w;
  return forwarding_rule(w, f, lan);
}

namespace {

// The daemon builds the forwarding rules on every reconcile, nearly all of
// them the same as last time. Rules are a pure function of the forwarding
// and lan0's prefix, so the rules of the last build are kept, in order, and
// reused (the bytes are immutable and shared) where the forwarding list
// still matches: walking both lists, a forwarding equal to the next old one
// takes its rule, one equal to the one after (an old entry removed) does
// too, and anything else (added, changed, reordered) is built afresh.
// Off unless remember_forwarding_rules(true): a one-shot run gains nothing.
struct ForwardingMemo {
  bool on = false;
  std::optional<Prefix> lan;
  std::vector<Forwarding> forwardings;
  std::vector<RuleBody> rules;
};

ForwardingMemo& memo() {
  static thread_local ForwardingMemo m;
  return m;
}

}  // namespace

void remember_forwarding_rules(bool on) {
  memo() = ForwardingMemo{};
  memo().on = on;
}

NftState desired_ruleset(const NftInputs& in, const NftChain* have) {
  NftState s;
  s.tables = {{NftFamily::ip, "nat"}, {NftFamily::ip, "filter"}, {NftFamily::ip6, "filter"}};
  NftChain fwd{NftFamily::ip, "nat", kForwardingChain, std::nullopt, {}};
  fwd.rules.reserve(in.forwardings.size());
  ExprWriter w;  // one buffer for thousands of rules
  ForwardingMemo& m = memo();
  if (!m.on) {
    for (const auto& f : in.forwardings) fwd.rules.push_back(forwarding_rule(w, f, in.lan));
  } else {
    if (m.lan != in.lan) {
      m.forwardings.clear();
      m.rules.clear();
    }
    const bool aligned = have && have->rules.size() == in.forwardings.size();
    size_t j = 0;  // the next old forwarding
    std::vector<RuleBody> bodies;
    bodies.reserve(in.forwardings.size());
    for (size_t i = 0; i < in.forwardings.size(); i++) {
      const Forwarding& f = in.forwardings[i];
      if (j < m.forwardings.size() && m.forwardings[j] == f) {
        bodies.push_back(m.rules[j++]);
      } else if (j + 1 < m.forwardings.size() && m.forwardings[j + 1] == f) {
        bodies.push_back(m.rules[j + 1]);
        j += 2;
      } else {
        bodies.push_back(forwarding_rule(w, f, in.lan).body);
      }
      // A rule equal to the kernel's at the same place shares its bytes from
      // now on: comparing them is then comparing pointers, not 700 bytes.
      // (Tried only when the chain and the list are the same length: after
      // a dump, not while forwardings are being added or removed.)
      if (aligned && !bodies.back().shares(have->rules[i].body) &&
          bodies.back() == have->rules[i].body)
        bodies.back() = have->rules[i].body;
      fwd.rules.push_back({bodies.back(), 0});
    }
    m.lan = in.lan;
    m.forwardings = in.forwardings;
    m.rules = std::move(bodies);
  }
  s.chains.push_back(std::move(fwd));
  s.chains.push_back({NftFamily::ip,
                      "nat",
                      "prerouting",
                      base("nat", NF_INET_PRE_ROUTING, 0),
                      {jump(kForwardingChain)}});
  s.chains.push_back({NftFamily::ip,
                      "nat",
                      "postrouting",
                      base("nat", NF_INET_POST_ROUTING, 100),
                      {masquerade_uplink(in.uplink), hairpin_masquerade(in.lan)}});
  for (NftFamily f : {NftFamily::ip, NftFamily::ip6}) {
    for (const char* c : {"fwded", "inputc", "outputc"})
      s.counters.push_back({f, "filter", c, 0, 0});
    s.chains.push_back({f,
                        "filter",
                        "forward",
                        base("filter", NF_INET_FORWARD, 0),
                        {clamp_mss(in.uplink), counter_ref("fwded")}});
    s.chains.push_back(
        {f, "filter", "input", base("filter", NF_INET_LOCAL_IN, 0), {counter_ref("inputc")}});
    s.chains.push_back(
        {f, "filter", "output", base("filter", NF_INET_LOCAL_OUT, 0), {counter_ref("outputc")}});
  }
  return s;
}

}  // namespace netkeep
