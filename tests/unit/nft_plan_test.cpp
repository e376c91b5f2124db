// The nftables planner: minimal per-rule diffs, ownership, isolation.
#include <doctest/doctest.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>

#include <cerrno>

#include "model/config_parse.hpp"
#include "model/nft_text.hpp"
#include "reconciler/executor.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "nft_helpers.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

Forwarding fwd(uint16_t port, const char* dest = "10.10.0.23", uint8_t proto = 6) {
  return {proto, {port, port}, *IpAddr::parse(dest), {port, port}};
}

template <class T>
size_t count(const Plan& p) {
  return std::count_if(p.ops.begin(), p.ops.end(),
                       [](const Op& o) { return std::holds_alternative<T>(o); });
}

std::vector<uint64_t> handles(const Actual& a, const char* chain) {
  std::vector<uint64_t> out;
  for (const auto& r : a.nft.chain(NftFamily::ip, chain[0] == 'r' ? "nat" : "filter", chain)->rules)
    out.push_back(r.handle);
  return out;
}

std::vector<Forwarding> many(int n) {
  std::vector<Forwarding> out;
  for (int i = 0; i < n; i++) out.push_back(fwd(static_cast<uint16_t>(1000 + i)));
  return out;
}

}  // namespace

TEST_CASE("each desired rule renders as the nft text it is built from") {
  NftInputs in{"uplink0",
               *Prefix::parse("10.10.0.0/24"),
               {fwd(8080),
                {6, {6000, 6010}, *IpAddr::parse("10.10.0.99"), {6000, 6010}},
                fwd(53, "10.10.0.99", 17)}};
  std::vector<std::string> texts;
  for (const auto& c : desired_ruleset(in).chains)
    for (const auto& r : c.rules) texts.push_back(c.name + ": " + rule_text(r.body));
  const std::vector<std::string> want = {
      "router7-portforwardings: ip daddr 127.0.0.0/8 return",
      "router7-portforwardings: ip daddr 10.10.0.0/24 return",
      "router7-portforwardings: fib daddr type != 2 return",
      "router7-portforwardings: dnat ip to tcp dport map @netkeep-portforwardings-tcp",
      "router7-portforwardings: dnat ip to tcp dport map @netkeep-portforwardings-tcp-ranges",
      "router7-portforwardings: dnat ip to tcp dport map "
      "@netkeep-portforwardings-tcp-ranges-to-port",
      "router7-portforwardings: dnat ip to udp dport map @netkeep-portforwardings-udp",
      "router7-portforwardings: dnat ip to udp dport map @netkeep-portforwardings-udp-ranges",
      "router7-portforwardings: dnat ip to udp dport map "
      "@netkeep-portforwardings-udp-ranges-to-port",
      "prerouting: jump router7-portforwardings",
      "postrouting: oifname \"uplink0\" masquerade",
      "postrouting: oifname \"lan0\" ip saddr 10.10.0.0/24 ct status 0x20 masquerade",
      "forward: oifname \"uplink0\" tcp flags 0x2 tcp option maxseg size set rt mtu",
      "forward: counter name \"fwded\"",
      "input: counter name \"inputc\"",
      "output: counter name \"outputc\"",
      "forward: oifname \"uplink0\" tcp flags 0x2 tcp option maxseg size set rt mtu",
      "forward: counter name \"fwded\"",
      "input: counter name \"inputc\"",
      "output: counter name \"outputc\"",
      "forward: ct status 0x20 meta l4proto tcp ct original proto-dst @forwarded-tcp",
      "forward: ct status 0x20 meta l4proto tcp ct original proto-dst @forwarded-tcp-ranges",
      "forward: ct status 0x20 meta l4proto tcp ct original proto-dst "
      "@forwarded-tcp-ranges-to-port",
      "forward: ct status 0x20 meta l4proto udp ct original proto-dst @forwarded-udp",
      "forward: ct status 0x20 meta l4proto udp ct original proto-dst @forwarded-udp-ranges",
      "forward: ct status 0x20 meta l4proto udp ct original proto-dst "
      "@forwarded-udp-ranges-to-port",
  };
  CHECK(texts == want);
  in.lan = *Prefix::parse("10.10.0.0/25");  // not byte-aligned: masked compare
  CHECK(rule_text(desired_ruleset(in).chains[0].rules[1].body) == "ip daddr 10.10.0.0/25 return");
  in.lan.reset();  // without lan0's prefix: router7's hairpin rule, no LAN exclusion
  const NftState s = desired_ruleset(in);
  CHECK(rule_text(s.chains[2].rules[1].body) ==
        "iifname \"lan0\" oifname \"lan0\" ct status 0x20 masquerade");
  CHECK(s.chains[0].rules.size() == 8);
}

TEST_CASE("forwardings compile to one map element per port interval, first match wins") {
  // router7's own test config: an exception inside a range splits it.
  NftInputs in{"uplink0",
               std::nullopt,
               {{6, {8080, 8080}, *IpAddr::parse("192.168.42.23"), {9999, 9999}},
                {6, {8045, 8045}, *IpAddr::parse("192.168.42.22"), {8045, 8045}},
                {6, {8040, 8060}, *IpAddr::parse("192.168.42.99"), {8040, 8060}},
                {17, {53, 53}, *IpAddr::parse("192.168.42.99"), {53, 53}}}};
  const NftState s = desired_ruleset(in);
  // Per protocol, a map and a count set of single ports, of ranges to
  // themselves and of ranges to one port.
  REQUIRE(s.maps.size() == 12);
  Plan p;
  FakeKernel k(Actual{});
  Desired d = with_forwardings(in.forwardings);
  p = nft_only(plan(d, Actual{}));
  std::vector<std::string> lines;
  for (const auto& op : p.ops)
    if (to_text(op).starts_with("+ forward")) lines.push_back(to_text(op));
  const std::vector<std::string> want = {
      "+ forward tcp 8045 -> 192.168.42.22:8045",  // single ports: the hash map
      "+ forward tcp 8080 -> 192.168.42.23:9999",
      "+ forward tcp 8040-8044 -> 192.168.42.99:8040-8060",  // ranges: the interval map
      "+ forward tcp 8046-8060 -> 192.168.42.99:8040-8060", "+ forward udp 53 -> 192.168.42.99:53",
  };
  CHECK(lines == want);
}

TEST_CASE("rule bytes decode to expressions and encode back unchanged") {
  NftInputs in{"uplink0", *Prefix::parse("10.10.0.0/25"), {fwd(8080)}};
  for (const auto& c : desired_ruleset(in).chains)
    for (const auto& r : c.rules) {
      auto exprs = decode_exprs(r.body);
      CHECK(!exprs.empty());
      CHECK(encode_exprs(exprs) == r.body);
    }
  // A truncated body decodes to what is whole, without reading past it.
  RuleBody body = desired_ruleset(in).chains[0].rules[3].body;
  CHECK(decode_exprs(std::string_view(body).substr(0, body.size() - 3)).size() <
        decode_exprs(body).size());
}

namespace {

const NftMap& tcp_map(const Actual& a, const char* name = kForwardingMapTcp) {
  const NftMap* m = a.nft.map(NftFamily::ip, "nat", name);
  REQUIRE(m);
  return *m;
}

}  // namespace

TEST_CASE("adding one forwarding among many is one element; every other is untouched") {
  Actual a = converged(with_forwardings(many(100)));
  tcp_map(a);
  for (auto& e : a.nft.map(NftFamily::ip, "nat", kForwardingMapTcp)->elems) e.packets = 7;
  auto f = many(100);
  f.insert(f.begin() + 50, fwd(9999));
  auto [p, after] = step(a, with_forwardings(f));
  REQUIRE(p.ops.size() == 1);
  CHECK(to_text(p.ops[0]) == "+ forward tcp 9999 -> 10.10.0.23:9999");
  CHECK(tcp_map(after).elems.size() == 101);
  for (const auto& e : tcp_map(after).elems) CHECK(e.packets == (e.first == 9999 ? 0u : 7u));
  CHECK(handles(after, kForwardingChain) == handles(a, kForwardingChain));
}

TEST_CASE("removing, changing and reordering touch only the forwardings that differ") {
  Actual a = converged(with_forwardings(many(10)));

  auto removed = many(10);
  removed.erase(removed.begin() + 3);
  auto [p1, s1] = step(a, with_forwardings(removed));
  REQUIRE(p1.ops.size() == 1);
  CHECK(to_text(p1.ops[0]) == "- forward tcp 1003 -> 10.10.0.23:1003");

  auto edited = many(10);
  edited[4].dest_addr = *IpAddr::parse("10.10.0.77");
  auto [p2, s2] = step(a, with_forwardings(edited));
  REQUIRE(p2.ops.size() == 1);
  CHECK(to_text(p2.ops[0]) == "~ forward tcp 1004: -> 10.10.0.77:1004 (was 10.10.0.23:1004)");
  CHECK(to_json(p2.ops[0]) ==
        R"({"kind": "forward_change", "proto": "tcp", "port": "1004", "dest_addr": "10.10.0.77", )"
        R"("dest_port": "1004", "was": {"dest_addr": "10.10.0.23", "dest_port": "1004"}})");

  // Forwardings of disjoint ports match the same whatever their order.
  auto moved = many(10);
  std::rotate(moved.begin() + 2, moved.begin() + 3, moved.begin() + 8);
  CHECK(nft_only(plan(with_forwardings(moved), a)).empty());
}

TEST_CASE("an exception added inside a range splits it in one transaction") {
  const Forwarding range{6, {8040, 8060}, *IpAddr::parse("10.10.0.99"), {8040, 8060}};
  Actual a = converged(with_forwardings({range}));
  auto [p, after] = step(a, with_forwardings({fwd(8045, "10.10.0.22"), range}));
  CHECK(to_text(p) ==
        "- forward tcp 8040-8060 -> 10.10.0.99:8040-8060\n"
        "+ forward tcp 8045 -> 10.10.0.22:8045\n"
        "+ forward tcp 8040-8044 -> 10.10.0.99:8040-8060\n"
        "+ forward tcp 8046-8060 -> 10.10.0.99:8040-8060\n");
  // Moved after the range, the exception never matches: the range is whole again.
  auto [p2, s2] = step(after, with_forwardings({range, fwd(8045, "10.10.0.22")}));
  CHECK(tcp_map(s2, kForwardingRangesTcp).elems.size() == 1);
  CHECK(tcp_map(s2).elems.empty());
}

TEST_CASE("10,000 forwardings: adding one is one op") {
  Actual a = converged(with_forwardings(many(10000)));
  auto f = many(10000);
  f.push_back(fwd(60000));
  Plan p = nft_only(plan(with_forwardings(f), a));
  REQUIRE(p.ops.size() == 1);
  CHECK(std::holds_alternative<NftForwardAdd>(p.ops[0]));
}

TEST_CASE("a forwarding map of another type is recreated, its rules deleted first") {
  Desired d = with_forwardings(many(3));
  Actual a = converged(d);
  a.nft.map(NftFamily::ip, "nat", kForwardingMapTcp)->typed = false;
  auto [p, after] = step(a, d);
  std::vector<std::string> kinds;
  for (const auto& op : p.ops) kinds.push_back(op_kind(op));
  std::vector<std::string> want(8, "nft_rule_del");  // 2 of the guard, 6 lookups
  want.insert(want.end(),
              {"nft_map_del", "nft_map_add", "forward_add", "forward_add", "forward_add"});
  want.insert(want.end(), 8, "nft_rule_add");
  CHECK(kinds == want);
}

TEST_CASE("foreign rules inside owned chains are removed; owned counters are never recreated") {
  Desired d = with_forwardings({fwd(80)});
  Actual a = converged(d);
  NftChain& pre = a.nft.chains[0].name == "prerouting" ? a.nft.chains[0] : a.nft.chains[1];
  (void)pre;
  for (auto& c : a.nft.chains)
    if (c.name == "input" && c.family == NftFamily::ip)
      c.rules.insert(c.rules.begin(), NftRule{encode_exprs({NftExpr{"counter", {}}}), 777});
  Plan p = nft_only(plan(d, a));
  REQUIRE(p.ops.size() == 1);
  auto& del = std::get<NftRuleDel>(p.ops[0]);
  CHECK(del.handle == 777);
  CHECK(del.text == "counter");
  // A missing counter is created; existing ones are not named in the plan.
  std::erase_if(a.nft.counters, [](const NftCounter& c) {
    return c.name == "inputc" && c.family == NftFamily::ip6;
  });
  Plan p2 = nft_only(plan(d, a));
  CHECK(count<NftCounterAdd>(p2) == 1);
  CHECK(std::get<NftCounterAdd>(p2.ops[0]).family == NftFamily::ip6);
}

TEST_CASE("base chains: a policy is updated in place; a wrong hook means delete and recreate") {
  Desired d = with_forwardings({fwd(80)});
  Actual a = converged(d);
  for (auto& c : a.nft.chains)
    if (c.name == "input" && c.family == NftFamily::ip) c.base->policy = 0;  // drop
  Plan p = nft_only(plan(d, a));
  REQUIRE(p.ops.size() == 1);
  CHECK(std::holds_alternative<NftChainAdd>(p.ops[0]));

  a = converged(d);
  for (auto& c : a.nft.chains)
    if (c.name == "output" && c.family == NftFamily::ip6) c.base->priority = -100;
  auto [p2, s2] = step(a, d);
  CHECK(count<NftChainDel>(p2) == 1);
  CHECK(count<NftChainAdd>(p2) == 1);
  CHECK(count<NftRuleAdd>(p2) == 1);
  CHECK(to_text(p2.ops[0]) == "- nft ip6 filter chain output  (wrong type, hook or priority)");
}

TEST_CASE(
    "an invalid portforwardings.json or interfaces.json freezes the forwarding chain and maps") {
  Desired d = with_forwardings(many(5));
  Actual a = converged(d);
  Desired bad = d;
  bad.portforwardings = {FileState::invalid, {}};
  CHECK(nft_only(plan(bad, a)).empty());
  bad = d;
  bad.interfaces.state = FileState::invalid;
  CHECK(nft_only(plan(bad, a)).empty());
  // A missing file declares no forwardings: the maps are emptied.
  Desired none;
  Plan p = nft_only(plan(none, a));
  CHECK(count<NftForwardDel>(p) == 5);
  CHECK(p.ops.size() == 5);
}

TEST_CASE("the uplink and lan0's prefix shape the rules") {
  Desired d;
  Diagnostics diags;
  json::Sink sink{kInterfacesFile, &diags};
  d.interfaces = {
      FileState::ok,
      *parse_interfaces(R"({"interfaces": [{"name": "lan0", "addr": "192.168.1.1/24"}]})", sink)};
  d.portforwardings = {FileState::ok, {{fwd(80)}}};
  Actual a;
  a.links = {{"eth0", "veth", {}, 1500, true, ""}};
  std::string text = to_text(nft_only(plan(d, a)));
  CHECK(text.find("oifname \"eth0\" masquerade") != std::string::npos);
  CHECK(text.find("+ ip daddr 192.168.1.0/24 return") != std::string::npos);
  // Without a lan0 address the rules carry no LAN exclusion.
  d.interfaces = {};
  text = to_text(nft_only(plan(d, a)));
  CHECK(text.find("+ ip daddr 192.168.1.0/24 return") == std::string::npos);
  CHECK(text.find("+ ip daddr 127.0.0.0/8 return\n    + fib daddr type != 2 return") !=
        std::string::npos);
}

TEST_CASE("a rejected transaction leaves the fake kernel's ruleset as it was") {
  Desired d = with_forwardings(many(3));
  Actual a = converged(d);
  Desired next = with_forwardings(many(5));
  Plan p = plan(next, a);
  FakeKernel k(a);
  k.refuse = [](const Op& op) -> std::optional<KernelError> {
    if (auto* add = std::get_if<NftForwardAdd>(&op); add && add->elem.first == 1004)
      return KernelError{EINVAL, "Invalid argument"};
    return std::nullopt;
  };
  ExecResult r = execute(p, k);
  CHECK(r.failures.size() == 2);
  int rejected = 0;
  for (const auto& f : r.failures) rejected += !f.skipped;
  CHECK(rejected == 1);
  CHECK(k.state().nft == a.nft);
}

namespace {

// router7's encoding of `ip daddr != 127.0.0.0/8`: a 4-byte load and a mask
// where nft 1.0 loads one byte. It lists the same but differs in the kernel.
std::string be32(uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
  return std::string(b, 4);
}

std::string data_value(std::string v) {  // NFTA_DATA_VALUE around v (4 bytes here)
  return std::string("\x08\x00\x01\x00", 4) + v;
}

RuleBody router7_encoding(const RuleBody& body) {
  auto b = decode_exprs(body);
  for (size_t i = 0; i + 1 < b.size(); i++) {
    if (b[i].name != "payload" || b[i].attrs.size() < 4 || b[i].attrs[3].value != be32(1)) continue;
    b[i].attrs[3].value = be32(4);  // NFTA_PAYLOAD_LEN
    NftExpr mask{"bitwise",
                 {{NFTA_BITWISE_SREG, be32(1)},
                  {NFTA_BITWISE_DREG, be32(1)},
                  {NFTA_BITWISE_LEN, be32(4)},
                  {NFTA_BITWISE_OP, be32(0)},
                  {NFTA_BITWISE_MASK, data_value(std::string("\xff\0\0\0", 4))},
                  {NFTA_BITWISE_XOR, data_value(std::string(4, '\0'))}}};
    b[i + 1].attrs[2].value = data_value(std::string("\x7f\0\0\0", 4));  // NFTA_CMP_DATA
    b.insert(b.begin() + static_cast<long>(i) + 1, mask);
    return encode_exprs(b);
  }
  FAIL("no 1-byte load in the rule");
  return body;
}

}  // namespace

TEST_CASE("router7's encoding of the same rule is replaced once, its neighbours kept") {
  Desired d = with_forwardings(many(20));
  Actual a = converged(d);
  const auto before = handles(a, kForwardingChain);
  NftChain* c = a.nft.chain(NftFamily::ip, "nat", kForwardingChain);
  c->rules[0].body = router7_encoding(c->rules[0].body);  // ip daddr 127.0.0.0/8 return
  auto [p, after] = step(a, d);
  CHECK(count<NftRuleDel>(p) == 1);
  CHECK(count<NftRuleAdd>(p) == 1);
  const auto now = handles(after, kForwardingChain);
  CHECK(std::equal(now.begin() + 1, now.end(), before.begin() + 1));
}

TEST_CASE("a rule-per-forwarding chain is converted to the maps in one transaction") {
  // The chain router7 (or an earlier netkeep) made: one DNAT rule per forwarding.
  Actual a;
  for (const char* t : {"nat", "filter"}) a.nft.tables.push_back({NftFamily::ip, t});
  NftChain old{NftFamily::ip, "nat", kForwardingChain, std::nullopt, {}};
  for (int i = 0; i < 20; i++) {
    ExprWriter w;
    w.begin("counter").end();  // any rule body: it is not netkeep's dispatch
    old.rules.push_back(
        {RuleBody(std::string(w.take().view()) + std::string(1, char(i))), 100u + i});
  }
  a.nft.chains.push_back(old);
  Desired d = with_forwardings(many(20));
  Plan p = nft_only(plan(d, a));
  CHECK(count<NftRuleDel>(p) == 20);
  CHECK(count<NftForwardAdd>(p) == 20);
  CountingKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(k.transactions == 1);  // all ops commit together: no forwarding is ever absent
  CHECK(nft_only(plan(d, k.state())).empty());
}

TEST_CASE("the count sets follow the maps; drift in a count set alone is repaired alone") {
  Desired d = with_forwardings(many(5));
  Actual a = converged(d);
  NftMap* count = a.nft.map(NftFamily::ip, kCountTable, kCountSetTcp);
  REQUIRE(count);
  CHECK(count->kind == NftMapKind::count);
  CHECK(count->elems.size() == 5);
  // An added forwarding goes into both, in one op.
  auto f = many(5);
  f.push_back(fwd(9000));
  auto [p, after] = step(a, with_forwardings(f));
  REQUIRE(p.ops.size() == 1);
  CHECK(std::get<NftForwardAdd>(p.ops[0]).count == kCountSetTcp);
  CHECK(after.nft.map(NftFamily::ip, kCountTable, kCountSetTcp)->elems.size() == 6);
  // Someone deletes a count set element, and adds a stray one: only those are repaired.
  count->elems.erase(count->elems.begin() + 2);
  count->elems.push_back(NftMapElem{40000, 40000, {}, 0, 0, 0, 0});
  auto [p2, s2] = step(a, d);
  CHECK(to_text(p2) ==
        "- nft ip netkeep set forwarded-tcp element 40000\n"
        "+ nft ip netkeep set forwarded-tcp element 1002\n");
  // A changed destination keeps the count set's element (and its counter).
  auto edited = many(5);
  edited[1].dest_addr = *IpAddr::parse("10.10.0.77");
  Actual b = converged(d);
  auto [p3, s3] = step(b, with_forwardings(edited));
  REQUIRE(p3.ops.size() == 1);
  CHECK(std::holds_alternative<NftForwardChange>(p3.ops[0]));
}

namespace {

// Refuses its first nftables batch as the Linux backend does when the
// batch was planned from a ruleset that changed (ERESTART, stale) or from a
// view the kernel proved wrong (the kernel's error, stale).
struct StaleOnceKernel : FakeKernel {
  using FakeKernel::FakeKernel;
  int code = ERESTART;
  bool stale = true;
  int batches = 0;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override {
    if (batches++ == 0) return {{NftError::npos, {code, "planned from a stale state"}, stale}};
    return FakeKernel::apply_nft(ops);
  }
};

}  // namespace

TEST_CASE("a batch refused as planned from a stale state is planned again once") {
  for (int code : {ERESTART, ENOENT}) {
    StaleOnceKernel k{Actual{}};
    k.code = code;
    Reconcile rc = commit(prepare(NETKEEP_TESTDATA "/fresh-system/config", k), k, k);
    CHECK(rc.result.ok());
    CHECK(k.batches == 2);
    CHECK(nft_only(plan(load_config(NETKEEP_TESTDATA "/fresh-system/config", rc.diags), k.state()))
              .empty());
  }
  // A refusal for any other reason is not retried: it would only repeat.
  StaleOnceKernel k{Actual{}};
  k.code = EINVAL;
  k.stale = false;
  Reconcile rc = commit(prepare(NETKEEP_TESTDATA "/fresh-system/config", k), k, k);
  CHECK(!rc.result.ok());
  CHECK(k.batches == 1);
}

TEST_CASE("what netkeep owns is what its desired ruleset names, whatever the config") {
  NftInputs in{"eth0",
               *Prefix::parse("10.10.0.0/24"),
               {{IPPROTO_TCP, {8080, 8080}, *IpAddr::parse("10.10.0.23"), {80, 80}},
                {IPPROTO_UDP, {53, 53}, *IpAddr::parse("10.10.0.2"), {53, 53}}}};
  const NftState s = desired_ruleset(in);
  for (const auto& t : s.tables) CHECK(nft_owned_table(t.family, t.name));
  for (const auto& c : s.chains) CHECK(nft_owned_chain(c.family, c.table, c.name));
  for (const auto& c : s.counters) CHECK(nft_owned_counter(c.family, c.table, c.name));
  for (const auto& m : s.maps) CHECK(nft_owned_map(m.family, m.table, m.name));
  CHECK(s.chains.size() == 10);
  CHECK(s.maps.size() == 12);
  // Other programs' objects, even in shared tables.
  CHECK_FALSE(nft_owned_table(NftFamily::ip, "docker"));
  CHECK_FALSE(nft_owned_table(NftFamily::ip6, "nat"));
  CHECK_FALSE(nft_owned_chain(NftFamily::ip, "nat", "DOCKER"));
  CHECK_FALSE(nft_owned_chain(NftFamily::ip6, "nat", "prerouting"));
  CHECK_FALSE(nft_owned_counter(NftFamily::ip, "filter", "other"));
  CHECK_FALSE(nft_owned_map(NftFamily::ip, "filter", "netkeep-portforwardings-tcp"));
  CHECK_FALSE(nft_owned_chain(NftFamily::ip, "netkeep", "view"));  // the stamp: not planned
}
