#include "reconciler/nft_protect.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <endian.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "reconciler/nft_expr.hpp"

namespace netkeep {

namespace {

using namespace expr;

constexpr const char* kCounters[] = {"lan-dropped", "lan-rejected", "router-dropped",
                                     "router-rejected"};

bool v6(NftFamily f) {
  return f == NftFamily::ip6;
}
// Offsets of the source and destination address in the network header.
uint32_t saddr_at(NftFamily f) {
  return v6(f) ? 8 : 12;
}
uint32_t daddr_at(NftFamily f) {
  return v6(f) ? 24 : 16;
}
uint8_t icmp_proto(NftFamily f) {
  return static_cast<uint8_t>(v6(f) ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
}

NftRule accept_unless_uplink(const std::string& uplink) {
  ExprWriter w;  // iifname != "UPLINK" accept
  ifname(w, NFT_META_IIFNAME, uplink, NFT_CMP_NEQ);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

NftRule ct_state_vmap() {
  ExprWriter w;  // ct state vmap @ct-state
  ct(w, NFT_CT_STATE);
  w.begin("lookup")
      .str(NFTA_LOOKUP_SET, kCtStateMap)
      .be32(NFTA_LOOKUP_SREG, kReg1)
      .be32(NFTA_LOOKUP_DREG, NFT_REG_VERDICT)
      .be32(NFTA_LOOKUP_FLAGS, 0)
      .end();
  return rule(w);
}

NftRule accept_dnat() {
  ExprWriter w;  // ct status dnat accept
  ct(w, NFT_CT_STATUS);
  bitwise(w, host32(IPS_DST_NAT));
  cmp(w, NFT_CMP_NEQ, host32(0));
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// icmp(v6) type TYPE
void icmp_type(ExprWriter& w, NftFamily f, uint8_t type) {
  l4proto(w, icmp_proto(f));
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(type)));
}

// icmp(v6) type TYPE [code CODE] accept: nft loads type and code together
// when both are matched.
NftRule accept_icmp(NftFamily f, uint8_t type, int code = -1) {
  ExprWriter w;
  if (code < 0) {
    icmp_type(w, f, type);
  } else {
    l4proto(w, icmp_proto(f));
    payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2);
    const char tc[2] = {static_cast<char>(type), static_cast<char>(code)};
    cmp(w, NFT_CMP_EQ, std::string(tc, 2));
  }
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// ip6 hoplimit 255 icmpv6 type TYPE accept: neighbour discovery, which
// RFC 4861 requires to come from the link (a router never forwards it).
NftRule accept_ndp(uint8_t type) {
  ExprWriter w;
  payload(w, NFT_PAYLOAD_NETWORK_HEADER, 7, 1);
  cmp(w, NFT_CMP_EQ, std::string(1, '\xff'));
  icmp_type(w, NftFamily::ip6, type);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// ip6 saddr fe80::/10 icmpv6 type TYPE accept: multicast listener discovery.
NftRule accept_mld(uint8_t type) {
  static const Prefix link_local = *Prefix::parse("fe80::/10");
  ExprWriter w;
  addr_match(w, 8, NFT_CMP_EQ, link_local);
  icmp_type(w, NftFamily::ip6, type);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// icmp(v6) type echo-request limit rate 10/second burst 5 packets accept
NftRule accept_echo(NftFamily f) {
  ExprWriter w;
  icmp_type(w, f, v6(f) ? 128 : 8);
  const uint64_t rate = htobe64(10), unit = htobe64(1);
  w.begin("limit")
      .raw(NFTA_LIMIT_RATE, std::string_view(reinterpret_cast<const char*>(&rate), 8))
      .raw(NFTA_LIMIT_UNIT, std::string_view(reinterpret_cast<const char*>(&unit), 8))
      .be32(NFTA_LIMIT_BURST, 5)
      .be32(NFTA_LIMIT_TYPE, NFT_LIMIT_PKTS)
      .be32(NFTA_LIMIT_FLAGS, 0)
      .end();
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

NftRule accept_proto(uint8_t proto) {
  ExprWriter w;  // meta l4proto PROTO accept
  l4proto(w, proto);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

NftRule accept_udp_dport(uint16_t port) {
  ExprWriter w;  // udp dport PORT accept
  l4proto(w, IPPROTO_UDP);
  dport(w, port, port);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// udp sport SERVER udp dport CLIENT accept: a DHCP client's replies
// (nft loads both ports at once).
NftRule accept_dhcp_reply(uint16_t server, uint16_t client) {
  ExprWriter w;
  l4proto(w, IPPROTO_UDP);
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 4);
  cmp(w, NFT_CMP_EQ, be16(server) + be16(client));
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// ip(6) daddr . meta l4proto . th dport @pinholes accept
NftRule accept_pinholes(NftFamily f) {
  ExprWriter w;
  payload(w, NFT_PAYLOAD_NETWORK_HEADER, daddr_at(f), v6(f) ? 16 : 4);
  // The next fields go in the registers after the address's, as nft
  // allocates them: after 16 bytes, NFT_REG_2 and NFT_REG32_05; after 4,
  // NFT_REG32_01 and _02.
  meta(w, NFT_META_L4PROTO, v6(f) ? kReg2 : kReg32(1));
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, v6(f) ? kReg32(5) : kReg32(2));
  w.begin("lookup")
      .str(NFTA_LOOKUP_SET, kPinholeSet)
      .be32(NFTA_LOOKUP_SREG, kReg1)
      .be32(NFTA_LOOKUP_FLAGS, 0)
      .end();
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// meta l4proto . th dport @open accept
NftRule accept_open() {
  ExprWriter w;
  meta(w, NFT_META_L4PROTO);
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kReg32(1));
  w.begin("lookup")
      .str(NFTA_LOOKUP_SET, kOpenSet)
      .be32(NFTA_LOOKUP_SREG, kReg1)
      .be32(NFTA_LOOKUP_FLAGS, 0)
      .end();
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// A pinhole with a source prefix is a rule of its own (a prefix in a
// concatenated key would make the set an interval set):
// ip6 saddr FROM ip6 daddr ADDR meta l4proto PROTO th dport PORTS accept
NftRule accept_from(NftFamily f, const Prefix& from, const IpAddr& to, uint8_t proto,
                    const PortRange& port) {
  ExprWriter w;
  addr_match(w, saddr_at(f), NFT_CMP_EQ, from);
  addr_match(w, daddr_at(f), NFT_CMP_EQ, Prefix{to, static_cast<uint8_t>(to.bits())});
  l4proto(w, proto);
  dport(w, port.first, port.last);
  verdict_code(w, NF_ACCEPT);
  return rule(w);
}

// meta l4proto tcp counter name "CHAIN-rejected" reject with tcp reset
NftRule reject_tcp(const std::string& counter_name) {
  ExprWriter w;
  l4proto(w, IPPROTO_TCP);
  counter(w, counter_name);
  w.begin("reject").be32(NFTA_REJECT_TYPE, NFT_REJECT_TCP_RST).end();
  return rule(w);
}

NftRule drop(const std::string& counter_name) {
  ExprWriter w;  // counter name "CHAIN-dropped" drop
  counter(w, counter_name);
  verdict_code(w, NF_DROP);
  return rule(w);
}

}  // namespace

std::vector<IpAddr> pinhole_hosts(const Pinhole& p, const std::vector<Prefix>& delegated) {
  std::vector<IpAddr> out;
  for_each_host(p, delegated, [&](const IpAddr& a) { out.push_back(a); });
  return out;
}

namespace {

NftKeySet keyset(NftFamily f, const char* name) {
  return NftKeySet{f, kProtectTable, name, true, {}};
}

BaseChain filter_hook(uint32_t hook) {
  return {"filter", hook, 0, NF_ACCEPT};
}

// `elems`: the pinhole sets' elements, taken.
void add_family(const ProtectInputs& in, NftFamily f, PinholeElems& elems, NftState& s) {
  const FirewallConfig& fw = *in.firewall;
  s.tables.push_back({f, kProtectTable});
  for (const char* c : kCounters) s.counters.push_back({f, kProtectTable, c, 0, 0});
  NftKeySet states = keyset(f, kCtStateMap);
  states.elems = {{NftKey(host32(kCtInvalid)), NF_DROP, 0, 0, {}},
                  {NftKey(host32(kCtEstablished)), NF_ACCEPT, 0, 0, {}},
                  {NftKey(host32(kCtRelated)), NF_ACCEPT, 0, 0, {}}};
  sort_unique(states.elems);
  s.keysets.push_back(std::move(states));
  if (fw.protect_lan) {
    NftChain c{f, kProtectTable, kProtectLanChain, filter_hook(NF_INET_FORWARD), {}};
    c.rules = {accept_unless_uplink(in.uplink), ct_state_vmap(), accept_dnat()};
    if (v6(f)) {
      // RFC 4890 §4.3.1: errors and echo that must not be dropped.
      for (uint8_t t : {1, 2, 128, 129}) c.rules.push_back(accept_icmp(f, t));
      c.rules.push_back(accept_icmp(f, 3, 0));
      c.rules.push_back(accept_icmp(f, 4, 1));
      c.rules.push_back(accept_icmp(f, 4, 2));
    } else {
      for (uint8_t t : {0, 3, 8, 11, 12}) c.rules.push_back(accept_icmp(f, t));
    }
    c.rules.push_back(accept_proto(IPPROTO_ESP));  // RFC 6092 REC-21, -22: IPsec
    c.rules.push_back(accept_udp_dport(500));
    c.rules.push_back(accept_pinholes(f));
    for (const Pinhole& p : fw.pinholes)
      if (p.from)
        for_each_host(p, in.delegated, [&](const IpAddr& a) {
          if (v6(f) != a.is_v4()) c.rules.push_back(accept_from(f, *p.from, a, p.proto, p.port));
        });
    NftKeySet pins = keyset(f, kPinholeSet);
    pins.elems = std::move(elems[v6(f) ? 1 : 0]);
    s.keysets.push_back(std::move(pins));
    c.rules.push_back(reject_tcp("lan-rejected"));
    c.rules.push_back(drop("lan-dropped"));
    s.chains.push_back(std::move(c));
  }
  if (fw.protect_router) {
    NftChain c{f, kProtectTable, kProtectRouterChain, filter_hook(NF_INET_LOCAL_IN), {}};
    c.rules = {accept_unless_uplink(in.uplink), ct_state_vmap()};
    if (v6(f)) {
      c.rules.push_back(accept_dhcp_reply(547, 546));
      for (uint8_t t : {1, 2, 3, 4}) c.rules.push_back(accept_icmp(f, t));
      for (uint8_t t : {133, 134, 135, 136, 137}) c.rules.push_back(accept_ndp(t));
      for (uint8_t t : {130, 131, 132, 143}) c.rules.push_back(accept_mld(t));
    } else {
      c.rules.push_back(accept_dhcp_reply(67, 68));
      for (uint8_t t : {3, 11, 12}) c.rules.push_back(accept_icmp(f, t));
    }
    c.rules.push_back(accept_echo(f));
    c.rules.push_back(accept_open());
    NftKeySet open = keyset(f, kOpenSet);
    for (const OpenPort& o : fw.open)
      for (uint32_t port = o.port.first; port <= o.port.last; port++)
        open.elems.push_back({open_key(o.proto, static_cast<uint16_t>(port)), 0, 0, 0, {}});
    for (uint16_t port : in.wg_ports)
      open.elems.push_back({open_key(IPPROTO_UDP, port), 0, 0, 0, {}});
    sort_unique(open.elems);
    s.keysets.push_back(std::move(open));
    c.rules.push_back(reject_tcp("router-rejected"));
    c.rules.push_back(drop("router-dropped"));
    s.chains.push_back(std::move(c));
  }
}

}  // namespace

std::vector<std::string> add_protection(const ProtectInputs& in, NftState& s) {
  std::vector<std::string> warnings;
  if (!in.firewall) return warnings;
  if (!in.firewall->protect_lan && !in.firewall->protect_router) return warnings;
  PinholeElems elems;
  if (in.firewall->protect_lan) {
    const auto& pins = in.firewall->pinholes;
    elems = in.keys && in.keys->valid ? in.keys->elems : pinhole_elems(pins, in.delegated);
  }
  for (NftFamily f : {NftFamily::ip, NftFamily::ip6}) add_family(in, f, elems, s);
  if (in.firewall->protect_lan && in.delegated.empty())
    for (const Pinhole& p : in.firewall->pinholes)
      if (p.dest_iid)
        warnings.push_back(fmt::format(
            "{}: pinholes[{}]: dest_iid {} has no prefix to go on (no dhcp6 lease): the "
            "pinhole is absent",
            kFirewallFile, p.entry, p.dest_iid->str()));
  std::sort(warnings.begin(), warnings.end());
  warnings.erase(std::unique(warnings.begin(), warnings.end()), warnings.end());
  return warnings;
}

bool protect_chain(NftFamily family, std::string_view table, std::string_view name) {
  return family != NftFamily::inet && table == kProtectTable &&
         (name == kProtectLanChain || name == kProtectRouterChain);
}

bool protect_counter(NftFamily family, std::string_view table, std::string_view name) {
  return family != NftFamily::inet && table == kProtectTable &&
         std::any_of(std::begin(kCounters), std::end(kCounters),
                     [&](const char* c) { return name == c; });
}

bool protect_keyset(NftFamily family, std::string_view table, std::string_view name) {
  return family != NftFamily::inet && table == kProtectTable && keyset_type(family, name);
}

}  // namespace netkeep
