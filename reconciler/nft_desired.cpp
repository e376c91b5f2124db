// Each rule is labelled with what `nft --debug=netlink` prints for it.
#include "reconciler/nft_desired.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <fmt/format.h>
#include <libnftnl/expr.h>  // attribute numbers only; this target does not link libnftnl
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

namespace netkeep {

namespace {

std::string u32(uint32_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 4);
}
std::string be16(uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  return std::string(b, 2);
}
std::string byte(uint8_t v) {
  return std::string(1, static_cast<char>(v));
}
std::string str0(const std::string& s) {
  return s + '\0';
}

NftExpr expr(std::string name, std::vector<NftAttr> attrs) {
  std::sort(attrs.begin(), attrs.end());
  return {std::move(name), std::move(attrs)};
}

constexpr uint32_t kReg1 = NFT_REG_1;

// [ payload load LENb @ BASE header + OFFSET => reg 1 ]
NftExpr payload(uint32_t base, uint32_t offset, uint32_t len) {
  return expr("payload", {{NFTNL_EXPR_PAYLOAD_DREG, u32(kReg1)},
                          {NFTNL_EXPR_PAYLOAD_BASE, u32(base)},
                          {NFTNL_EXPR_PAYLOAD_OFFSET, u32(offset)},
                          {NFTNL_EXPR_PAYLOAD_LEN, u32(len)}});
}

// [ cmp OP reg 1 DATA ]
NftExpr cmp(uint32_t op, std::string data) {
  return expr("cmp", {{NFTNL_EXPR_CMP_SREG, u32(kReg1)},
                      {NFTNL_EXPR_CMP_OP, u32(op)},
                      {NFTNL_EXPR_CMP_DATA, std::move(data)}});
}

// [ bitwise reg 1 = ( reg 1 & MASK ) ^ XOR ]
NftExpr bitwise(std::string mask) {
  const uint32_t len = static_cast<uint32_t>(mask.size());
  return expr("bitwise", {{NFTNL_EXPR_BITWISE_SREG, u32(kReg1)},
                          {NFTNL_EXPR_BITWISE_DREG, u32(kReg1)},
                          {NFTNL_EXPR_BITWISE_LEN, u32(len)},
                          {NFTNL_EXPR_BITWISE_MASK, std::move(mask)},
                          {NFTNL_EXPR_BITWISE_XOR, std::string(len, '\0')},
                          {NFTNL_EXPR_BITWISE_OP, u32(0)}});  // NFT_BITWISE_BOOL
}

// [ meta load KEY => reg 1 ]
NftExpr meta(uint32_t key) {
  return expr("meta", {{NFTNL_EXPR_META_KEY, u32(key)}, {NFTNL_EXPR_META_DREG, u32(kReg1)}});
}

// [ immediate reg N DATA ]
NftExpr immediate(uint32_t reg, std::string data) {
  return expr("immediate",
              {{NFTNL_EXPR_IMM_DREG, u32(reg)}, {NFTNL_EXPR_IMM_DATA, std::move(data)}});
}

// [ meta load IIFNAME/OIFNAME => reg 1 ] [ cmp eq reg 1 NAME ]: names are
// compared as IFNAMSIZ bytes, NUL-padded.
void ifname(std::vector<NftExpr>& r, uint32_t key, const std::string& name) {
  std::string padded = name;
  padded.resize(16, '\0');
  r.push_back(meta(key));
  r.push_back(cmp(NFT_CMP_EQ, padded));
}

constexpr uint32_t kSaddr = 12, kDaddr = 16;  // offsets in the IPv4 header

// ip saddr/daddr ==/!= PREFIX: a whole-byte prefix loads only its bytes;
// any other loads the address and masks it, as nft 1.0 does.
void addr_match(std::vector<NftExpr>& r, uint32_t offset, uint32_t op, const Prefix& p) {
  Prefix net = p.network();
  if (net.len % 8 == 0 && net.len > 0) {
    r.push_back(payload(NFT_PAYLOAD_NETWORK_HEADER, offset, net.len / 8));
    r.push_back(
        cmp(op, std::string(reinterpret_cast<const char*>(net.addr.bytes.data()), net.len / 8)));
    return;
  }
  r.push_back(payload(NFT_PAYLOAD_NETWORK_HEADER, offset, 4));
  std::string mask(4, '\0');
  for (int i = 0; i < 4; i++) {
    int keep = std::clamp(static_cast<int>(net.len) - i * 8, 0, 8);
    mask[i] = static_cast<char>(0xff00 >> keep);
  }
  r.push_back(bitwise(mask));
  r.push_back(cmp(op, std::string(reinterpret_cast<const char*>(net.addr.bytes.data()), 4)));
}

NftRule rule(std::vector<NftExpr> body, std::string text) {
  return {std::move(body), 0, std::move(text)};
}

NftRule jump(const std::string& chain) {
  // [ immediate reg 0 jump -> CHAIN ]
  return rule({expr("immediate", {{NFTNL_EXPR_IMM_DREG, u32(NFT_REG_VERDICT)},
                                  {NFTNL_EXPR_IMM_VERDICT, u32(static_cast<uint32_t>(NFT_JUMP))},
                                  {NFTNL_EXPR_IMM_CHAIN, str0(chain)}})},
              "jump " + chain);
}

NftRule counter_ref(const std::string& name) {
  // [ objref type 1 name NAME ]
  return rule({expr("objref", {{NFTNL_EXPR_OBJREF_IMM_TYPE, u32(NFT_OBJECT_COUNTER)},
                               {NFTNL_EXPR_OBJREF_IMM_NAME, str0(name)}})},
              fmt::format("counter name \"{}\"", name));
}

NftRule masquerade_uplink(const std::string& uplink) {
  std::vector<NftExpr> r;
  ifname(r, NFT_META_OIFNAME, uplink);
  r.push_back(expr("masq", {}));  // [ masq ]
  return rule(std::move(r), fmt::format("oifname \"{}\" masquerade", uplink));
}

// Hairpin NAT: a LAN host connecting to a forwarded port on the uplink
// address is DNATed back out of lan0; masquerading it makes the reply come
// back through the router instead of going straight to the client.
//
// SPEC §3 (after router7) writes this as `iifname "lan0" oifname "lan0" ct
// status 0x20 masquerade`, which never matches: ip_output() runs
// POSTROUTING with no input device, so iifname is empty there. With lan0's
// prefix known, netkeep matches the LAN by source address instead; without
// it, it keeps SPEC §3's rule.
NftRule hairpin_masquerade(const std::optional<Prefix>& lan) {
  std::vector<NftExpr> r;
  std::string text;
  if (lan) {
    ifname(r, NFT_META_OIFNAME, "lan0");
    addr_match(r, kSaddr, NFT_CMP_EQ, *lan);
    text =
        fmt::format("oifname \"lan0\" ip saddr {} ct status 0x20 masquerade", lan->network().str());
  } else {
    ifname(r, NFT_META_IIFNAME, "lan0");
    ifname(r, NFT_META_OIFNAME, "lan0");
    text = "iifname \"lan0\" oifname \"lan0\" ct status 0x20 masquerade";
  }
  // [ ct load status => reg 1 ] [ bitwise & 0x20 (IPS_DST_NAT) ] [ cmp neq 0 ]
  r.push_back(
      expr("ct", {{NFTNL_EXPR_CT_DREG, u32(kReg1)}, {NFTNL_EXPR_CT_KEY, u32(NFT_CT_STATUS)}}));
  r.push_back(bitwise(u32(0x20)));
  r.push_back(cmp(NFT_CMP_NEQ, u32(0)));
  r.push_back(expr("masq", {}));
  return rule(std::move(r), std::move(text));
}

NftRule clamp_mss(const std::string& uplink) {
  std::vector<NftExpr> r;
  ifname(r, NFT_META_OIFNAME, uplink);
  r.push_back(meta(NFT_META_L4PROTO));
  r.push_back(cmp(NFT_CMP_EQ, byte(IPPROTO_TCP)));
  // tcp flags 0x2: [ payload load 1b @ transport header + 13 ] [ bitwise & 0x02 ] [ cmp neq 0 ]
  r.push_back(payload(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1));
  r.push_back(bitwise(byte(0x02)));
  r.push_back(cmp(NFT_CMP_NEQ, byte(0)));
  // [ rt load tcpmss => reg 1 ] [ byteorder reg 1 = hton(reg 1, 2, 2) ]
  // [ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]
  r.push_back(
      expr("rt", {{NFTNL_EXPR_RT_KEY, u32(NFT_RT_TCPMSS)}, {NFTNL_EXPR_RT_DREG, u32(kReg1)}}));
  r.push_back(expr("byteorder", {{NFTNL_EXPR_BYTEORDER_DREG, u32(kReg1)},
                                 {NFTNL_EXPR_BYTEORDER_SREG, u32(kReg1)},
                                 {NFTNL_EXPR_BYTEORDER_OP, u32(NFT_BYTEORDER_HTON)},
                                 {NFTNL_EXPR_BYTEORDER_LEN, u32(2)},
                                 {NFTNL_EXPR_BYTEORDER_SIZE, u32(2)}}));
  r.push_back(expr("exthdr", {{NFTNL_EXPR_EXTHDR_SREG, u32(kReg1)},
                              {NFTNL_EXPR_EXTHDR_TYPE, byte(2)},  // TCPOPT_MAXSEG
                              {NFTNL_EXPR_EXTHDR_OFFSET, u32(2)},
                              {NFTNL_EXPR_EXTHDR_LEN, u32(2)},
                              {NFTNL_EXPR_EXTHDR_FLAGS, u32(0)},
                              {NFTNL_EXPR_EXTHDR_OP, u32(NFT_EXTHDR_OP_TCPOPT)}}));
  return rule(
      std::move(r),
      fmt::format("oifname \"{}\" tcp flags 0x2 tcp option maxseg size set rt mtu", uplink));
}

BaseChain base(const char* type, uint32_t hook, int32_t priority) {
  return {type, hook, priority, NF_ACCEPT};
}

}  // namespace

NftRule forwarding_rule(const Forwarding& f, const std::optional<Prefix>& lan) {
  std::vector<NftExpr> r;
  std::string text = "ip daddr != 127.0.0.0/8";
  addr_match(r, kDaddr, NFT_CMP_NEQ, *Prefix::parse("127.0.0.0/8"));
  if (lan) {
    addr_match(r, kDaddr, NFT_CMP_NEQ, *lan);
    text += " ip daddr != " + lan->network().str();
  }
  // fib daddr type 2: only packets addressed to the router itself (RTN_LOCAL),
  // so forwarded traffic to other hosts is never redirected.
  r.push_back(expr("fib", {{NFTNL_EXPR_FIB_DREG, u32(kReg1)},
                           {NFTNL_EXPR_FIB_RESULT, u32(NFT_FIB_RESULT_ADDRTYPE)},
                           {NFTNL_EXPR_FIB_FLAGS, u32(NFTA_FIB_F_DADDR)}}));
  r.push_back(cmp(NFT_CMP_EQ, u32(RTN_LOCAL)));
  r.push_back(meta(NFT_META_L4PROTO));
  r.push_back(cmp(NFT_CMP_EQ, byte(f.proto)));
  r.push_back(payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));  // dport
  if (f.port.single()) {
    r.push_back(cmp(NFT_CMP_EQ, be16(f.port.first)));
  } else {
    r.push_back(cmp(NFT_CMP_GTE, be16(f.port.first)));
    r.push_back(cmp(NFT_CMP_LTE, be16(f.port.last)));
  }
  r.push_back(immediate(NFT_REG_1,
                        std::string(reinterpret_cast<const char*>(f.dest_addr.bytes.data()), 4)));
  r.push_back(immediate(NFT_REG_2, be16(f.dest_port.first)));
  uint32_t proto_max = NFT_REG_2;
  if (!f.dest_port.single()) {
    r.push_back(immediate(NFT_REG_3, be16(f.dest_port.last)));
    proto_max = NFT_REG_3;
  }
  // [ nat dnat ip addr_min reg 1 addr_max reg 1 proto_min reg 2 proto_max reg N flags 0x3 ]
  r.push_back(expr(
      "nat", {{NFTNL_EXPR_NAT_TYPE, u32(NFT_NAT_DNAT)},
              {NFTNL_EXPR_NAT_FAMILY, u32(NFPROTO_IPV4)},
              {NFTNL_EXPR_NAT_REG_ADDR_MIN, u32(NFT_REG_1)},
              {NFTNL_EXPR_NAT_REG_ADDR_MAX, u32(NFT_REG_1)},
              {NFTNL_EXPR_NAT_REG_PROTO_MIN, u32(NFT_REG_2)},
              {NFTNL_EXPR_NAT_REG_PROTO_MAX, u32(proto_max)},
              {NFTNL_EXPR_NAT_FLAGS, u32(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)}}));
  text += fmt::format(" fib daddr type 2 {} dport {} dnat to {}:{}",
                      f.proto == IPPROTO_TCP ? "tcp" : "udp", f.port.str(), f.dest_addr.str(),
                      f.dest_port.str());
  return rule(std::move(r), std::move(text));
}

NftState desired_ruleset(const NftInputs& in) {
  NftState s;
  s.tables = {{NftFamily::ip, "nat"}, {NftFamily::ip, "filter"}, {NftFamily::ip6, "filter"}};
  NftChain fwd{NftFamily::ip, "nat", kForwardingChain, std::nullopt, {}};
  for (const auto& f : in.forwardings) fwd.rules.push_back(forwarding_rule(f, in.lan));
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
