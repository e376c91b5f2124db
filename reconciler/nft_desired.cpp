// Each expression is labelled with what `nft --debug=netlink` prints for it.
#include "reconciler/nft_desired.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cstring>

#include "model/first_match.hpp"
#include "reconciler/nft_expr.hpp"
#include "reconciler/nft_protect.hpp"

namespace netkeep {

namespace {

using namespace expr;

void masq(ExprWriter& w) {
  w.begin("masq").end();  // [ masq ]
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
  ExprWriter w;
  counter(w, name);
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
    addr_match(w, kIp4Saddr, NFT_CMP_EQ, *lan);
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

NftState desired_ruleset(const NftInputs& in) {
  NftState s;
  s.tables = {{NftFamily::ip, "nat"}, {NftFamily::ip, "filter"}, {NftFamily::ip6, "filter"}};
  const std::vector<Forwarding>& forwardings = in.config ? in.config->forwardings : in.forwardings;
  const std::vector<PortRun>& given = in.config ? in.config->runs : in.runs;
  const std::vector<PortRun> computed =
      given.empty() ? first_match_runs(forwardings) : std::vector<PortRun>{};
  ForwardingDispatch d =
      forwarding_dispatch(in.lan, forwardings, given.empty() ? computed : given, in.count_elems);
  s.maps = std::move(d.maps);
  s.chains.push_back({NftFamily::ip, "nat", kForwardingChain, std::nullopt, std::move(d.chain)});
  NftChain count{NftFamily::ip, kCountTable, "forward", base("filter", NF_INET_FORWARD, 0),
                 std::move(d.count_rules)};
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
  s.tables.push_back({NftFamily::ip, kCountTable});
  s.chains.push_back(std::move(count));
  return s;
}

namespace {

// The ruleset of an empty config: every owned object, by name.
const NftState& owned_names() {
  static const NftState names = desired_ruleset(NftInputs{});
  return names;
}

template <class T>
bool has_named(const std::vector<T>& v, NftFamily family, std::string_view table,
               std::string_view name) {
  return std::any_of(v.begin(), v.end(), [&](const T& o) {
    return o.family == family && o.table == table && o.name == name;
  });
}

}  // namespace

bool nft_owned_table(NftFamily family, std::string_view name) {
  if (family == NftFamily::ip6 && name == kProtectTable) return true;  // protection's alone
  const auto& t = owned_names().tables;
  return std::any_of(t.begin(), t.end(),
                     [&](const NftTable& x) { return x.family == family && x.name == name; });
}

bool nft_owned_chain(NftFamily family, std::string_view table, std::string_view name) {
  return has_named(owned_names().chains, family, table, name) || protect_chain(family, table, name);
}

bool nft_owned_counter(NftFamily family, std::string_view table, std::string_view name) {
  return has_named(owned_names().counters, family, table, name) ||
         protect_counter(family, table, name);
}

bool nft_owned_map(NftFamily family, std::string_view table, std::string_view name) {
  return has_named(owned_names().maps, family, table, name);
}

bool nft_owned_set(NftFamily family, std::string_view table, std::string_view name) {
  return nft_owned_map(family, table, name) || protect_keyset(family, table, name);
}

}  // namespace netkeep
