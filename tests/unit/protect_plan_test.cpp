// LAN protection's planner (firewall.json, issue 25): the objects it makes,
// minimal changes (one pinhole is one element, a renumbering one
// transaction of element swaps, off is one transaction), and files that
// are invalid freezing what protection has.
#include <doctest/doctest.h>
#include <netinet/in.h>

#include "model/nft_text.hpp"
#include "nft_helpers.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/plan_protect.hpp"
#include "reconciler/plan_print.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

Pinhole iid(uint16_t port, const char* id = "::23") {
  return {IPPROTO_TCP, {port, port}, std::nullopt, *IpAddr::parse(id), std::nullopt, 0};
}
Pinhole addr(uint16_t port, const char* a) {
  return {IPPROTO_TCP, {port, port}, *IpAddr::parse(a), std::nullopt, std::nullopt, 0};
}

Desired with_firewall(FirewallConfig fw, const char* prefix = "2001:db8:4a00::/64") {
  Desired d;
  d.firewall = {FileState::ok, std::move(fw)};
  if (prefix) d.dhcp6 = {FileState::ok, {{*Prefix::parse(prefix)}, {}, false, {}}};
  return d;
}

template <class T>
std::vector<const T*> ops_of(const Plan& p) {
  std::vector<const T*> out;
  for (const auto& o : p.ops)
    if (auto* x = std::get_if<T>(&o)) out.push_back(x);
  return out;
}

std::string text(const Plan& p) {
  return to_text(p);
}

}  // namespace

TEST_CASE("protection: none without firewall.json; both chains, the sets and counters with it") {
  const Actual off = converged(Desired{});
  CHECK(off.nft.keysets.empty());
  CHECK_FALSE(off.nft.chain(NftFamily::ip6, kProtectTable, kProtectLanChain));
  const Actual on = converged(with_firewall({}));
  for (NftFamily f : {NftFamily::ip, NftFamily::ip6}) {
    CHECK(on.nft.chain(f, kProtectTable, kProtectLanChain));
    CHECK(on.nft.chain(f, kProtectTable, kProtectRouterChain));
    for (const char* s : {kCtStateMap, kPinholeSet, kOpenSet})
      CHECK(on.nft.keyset(f, kProtectTable, s));
    for (const char* c : {"lan-dropped", "lan-rejected", "router-dropped", "router-rejected"})
      CHECK(on.nft.counter(f, kProtectTable, c));
  }
  CHECK(on.nft.has_table(NftFamily::ip6, kProtectTable));
}

TEST_CASE("protection: one pinhole added is one element; no chain is rewritten") {
  FirewallConfig fw;
  for (uint16_t p = 1000; p < 1100; p++) fw.pinholes.push_back(iid(p));
  const Actual a = converged(with_firewall(fw));
  fw.pinholes.push_back(addr(443, "2001:db8:5::7"));
  auto [p, b] = step(a, with_firewall(fw));
  REQUIRE(p.ops.size() == 1);
  REQUIRE(ops_of<NftKeyElemAdd>(p).size() == 1);
  CHECK(text(p) == "+ pinhole tcp 443 -> 2001:db8:5::7\n");
  // An IPv4 pinhole goes to ip netkeep's set.
  fw.pinholes.push_back(addr(5060, "203.0.113.77"));
  auto [p4, c] = step(b, with_firewall(fw));
  REQUIRE(ops_of<NftKeyElemAdd>(p4).size() == 1);
  CHECK(ops_of<NftKeyElemAdd>(p4)[0]->family == NftFamily::ip);
}

TEST_CASE("protection: the daemon's kept pinhole elements plan as making them all does") {
  FirewallConfig fw;
  for (uint16_t p = 1000; p < 1100; p++) fw.pinholes.push_back(iid(p));
  Actual a = converged(with_firewall(fw));
  PinholeKeys keys;
  auto same = [&](const Desired& d) {
    keep_pinhole_keys(keys, d);  // as prepare does, before planning
    const Plan kept = plan(d, a, &keys), all = plan(d, a);
    CHECK(to_json(kept) == to_json(all));
    CHECK(text(kept) == text(all));
    a = converged(d);
  };
  same(with_firewall(fw));
  fw.pinholes.insert(fw.pinholes.begin() + 50, addr(443, "2001:db8:5::7"));
  same(with_firewall(fw));  // one added
  fw.pinholes.erase(fw.pinholes.begin() + 10);
  same(with_firewall(fw));                        // one removed
  same(with_firewall(fw, "2001:db8:4b00::/64"));  // renumbered
  fw.pinholes[3].from = *Prefix::parse("2001:db8:99::/48");
  same(with_firewall(fw, "2001:db8:4b00::/64"));  // one becomes a rule
  CHECK(keys.edited >= 3);
}

TEST_CASE("protection: a renumbering swaps the dest_iid elements in one plan, nothing else") {
  FirewallConfig fw;
  fw.pinholes = {iid(443), iid(80, "::42"), addr(22, "2001:db8:5::7")};
  const Actual a = converged(with_firewall(fw));
  auto [p, b] = step(a, with_firewall(fw, "2001:db8:4b00::/64"));
  CHECK(ops_of<NftKeyElemDel>(p).size() == 2);
  CHECK(ops_of<NftKeyElemAdd>(p).size() == 2);
  CHECK(p.ops.size() == 4);
  CHECK(text(p).find("+ pinhole tcp 443 -> ::23 (2001:db8:4b00::23)") != std::string::npos);
  CHECK(text(p).find("- pinhole tcp 80 -> 2001:db8:4a00::42") != std::string::npos);
}

TEST_CASE("protection: a dest_iid without a leased prefix is a warning and absent") {
  FirewallConfig fw;
  fw.pinholes = {iid(443), addr(22, "2001:db8:5::7")};
  Plan p = plan(with_firewall(fw, nullptr), Actual{});
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("firewall.json: pinholes[0]: dest_iid ::23 has no prefix") == 0);
  CHECK(text(p).find("+ pinhole tcp 22 -> 2001:db8:5::7") != std::string::npos);
  CHECK(text(p).find("pinhole tcp 443") == std::string::npos);
}

TEST_CASE("protection: a port range is expanded; from makes a rule of its own") {
  FirewallConfig fw;
  Pinhole range = addr(0, "2001:db8:5::7");
  range.port = {60000, 60010};
  Pinhole from = addr(22, "2001:db8:5::8");
  from.from = *Prefix::parse("2001:db8:99::/48");
  fw.pinholes = {range, from};
  const Actual a = converged(with_firewall(fw));
  CHECK(a.nft.keyset(NftFamily::ip6, kProtectTable, kPinholeSet)->elems.size() == 11);
  const NftChain* lan = a.nft.chain(NftFamily::ip6, kProtectTable, kProtectLanChain);
  REQUIRE(lan);
  std::string rules;
  for (const auto& r : lan->rules) rules += rule_text(r.body) + "\n";
  CHECK_MESSAGE(
      rules.find("ip6 saddr 2001:db8:99::/48 ip6 daddr 2001:db8:5::8 tcp dport 22 accept") !=
          std::string::npos,
      rules);
}

TEST_CASE("protection: off is one plan that deletes chains, then sets; counters stay") {
  FirewallConfig fw;
  fw.pinholes = {iid(443)};
  fw.open = {{IPPROTO_TCP, {22, 22}}};
  const Actual a = converged(with_firewall(fw));
  Desired off = with_firewall(fw);
  off.firewall = {};
  auto [p, b] = step(a, off);
  CHECK(ops_of<NftChainDel>(p).size() == 4);
  CHECK(ops_of<NftKeySetDel>(p).size() == 6);
  CHECK(p.ops.size() == 10);
  // Chains go first: their rules use the sets.
  CHECK(std::holds_alternative<NftChainDel>(p.ops.front()));
  CHECK(std::holds_alternative<NftKeySetDel>(p.ops.back()));
  CHECK(b.nft.counter(NftFamily::ip6, kProtectTable, "lan-dropped"));
  // protect_lan alone off: its chain and the pinholes go, the router's stay.
  FirewallConfig router_only = fw;
  router_only.protect_lan = false;
  auto [q, c] = step(a, with_firewall(router_only));
  CHECK(ops_of<NftChainDel>(q).size() == 2);
  CHECK(ops_of<NftKeySetDel>(q).size() == 2);
  CHECK(c.nft.chain(NftFamily::ip6, kProtectTable, kProtectRouterChain));
}

TEST_CASE("protection: an invalid file freezes what protection has") {
  FirewallConfig fw;
  fw.pinholes = {iid(443)};
  fw.open = {{IPPROTO_TCP, {22, 22}}};
  const Actual a = converged(with_firewall(fw));
  Desired bad = with_firewall(fw);
  bad.firewall.state = FileState::invalid;
  CHECK(nft_only(plan(bad, a)).empty());
  CHECK(nft_only(plan(bad, Actual{})).ops.size() > 0);  // forwarding objects, nothing of protection
  for (const auto& o : nft_only(plan(bad, Actual{})).ops)
    CHECK(to_text(o).find("protect") == std::string::npos);
  // A dhcp6 lease that is invalid freezes the dest_iid elements.
  Desired lease_bad = with_firewall(fw, "2001:db8:4b00::/64");
  lease_bad.dhcp6.state = FileState::invalid;
  CHECK(nft_only(plan(lease_bad, a)).empty());
  // wireguard.json invalid: the open set keeps what it has.
  Desired wg_bad = with_firewall(fw);
  wg_bad.wireguard.state = FileState::invalid;
  CHECK(nft_only(plan(wg_bad, a)).empty());
}

TEST_CASE("protection: wireguard.json's listen ports are open on the router") {
  Desired d = with_firewall({});
  d.wireguard = {FileState::ok, {{{"wg0", {}, 51820, {}}}}};
  const Actual a = converged(d);
  const NftKeySet* open = a.nft.keyset(NftFamily::ip, kProtectTable, kOpenSet);
  REQUIRE(open);
  REQUIRE(open->elems.size() == 1);
  CHECK(open->elems[0].key == open_key(IPPROTO_UDP, 51820));
}

TEST_CASE("protection: a set of another type is made again with the chains that use it") {
  Actual a = converged(with_firewall({}));
  a.nft.keyset(NftFamily::ip6, kProtectTable, kPinholeSet)->typed = false;
  auto [p, b] = step(a, with_firewall({}));
  CHECK(ops_of<NftKeySetDel>(p).size() == 1);
  CHECK(ops_of<NftKeySetAdd>(p).size() == 1);
  CHECK(ops_of<NftChainDel>(p).size() == 2);  // ip6's two chains, made again
  CHECK(b.nft.keyset(NftFamily::ip6, kProtectTable, kPinholeSet)->typed);
}
