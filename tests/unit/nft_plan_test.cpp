// The nftables planner: minimal per-rule diffs, ownership, isolation.
#include <doctest/doctest.h>
#include <linux/netfilter/nf_tables.h>

#include "model/config.hpp"
#include "model/nft_text.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/fake_kernel.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"

using namespace netkeep;

namespace {

Forwarding fwd(uint16_t port, const char* dest = "10.10.0.23", uint8_t proto = 6) {
  return {proto, {port, port}, *IpAddr::parse(dest), {port, port}};
}

Desired with_forwardings(std::vector<Forwarding> f) {
  Desired d;
  d.portforwardings = {FileState::ok, {std::move(f)}};
  return d;
}

Plan nft_only(Plan p) {
  std::erase_if(p.ops, [](const Op& op) { return !is_nft(op); });
  return p;
}

// The state after applying `d` to an empty kernel.
Actual converged(const Desired& d) {
  FakeKernel k(Actual{});
  REQUIRE(execute(plan(d, Actual{}), k).ok());
  return k.state();
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

// Applies `next`'s plan on top of `a`, checks convergence, returns the plan and new state.
std::pair<Plan, Actual> step(const Actual& a, const Desired& next) {
  Plan p = nft_only(plan(next, a));
  FakeKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(nft_only(plan(next, k.state())).empty());
  return {p, k.state()};
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
      "router7-portforwardings: ip daddr != 127.0.0.0/8 ip daddr != 10.10.0.0/24 fib daddr type 2 "
      "tcp dport 8080 dnat to 10.10.0.23:8080",
      "router7-portforwardings: ip daddr != 127.0.0.0/8 ip daddr != 10.10.0.0/24 fib daddr type 2 "
      "tcp dport 6000-6010 dnat to 10.10.0.99:6000-6010",
      "router7-portforwardings: ip daddr != 127.0.0.0/8 ip daddr != 10.10.0.0/24 fib daddr type 2 "
      "udp dport 53 dnat to 10.10.0.99:53",
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
  };
  CHECK(texts == want);
  in.lan = *Prefix::parse("10.10.0.0/25");  // not byte-aligned: masked compare
  NftRule r = forwarding_rule(in.forwardings[0], in.lan);
  CHECK(rule_text(r.body).find("ip daddr != 10.10.0.0/25 ") != std::string::npos);
  in.lan.reset();  // without lan0's prefix: SPEC §3's hairpin rule
  CHECK(rule_text(desired_ruleset(in).chains[2].rules[1].body) ==
        "iifname \"lan0\" oifname \"lan0\" ct status 0x20 masquerade");
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
  RuleBody body = forwarding_rule(fwd(80), std::nullopt).body;
  CHECK(decode_exprs(std::string_view(body).substr(0, body.size() - 3)).size() <
        decode_exprs(body).size());
}

TEST_CASE("adding one forwarding among many adds one rule before its successor") {
  Actual a = converged(with_forwardings(many(100)));
  auto before = handles(a, kForwardingChain);
  auto f = many(100);
  f.insert(f.begin() + 50, fwd(9999));
  auto [p, after] = step(a, with_forwardings(f));
  REQUIRE(p.ops.size() == 1);
  auto& add = std::get<NftRuleAdd>(p.ops[0]);
  CHECK(add.place == RulePlace::before_handle);
  CHECK(add.ref == before[50]);
  auto now = handles(after, kForwardingChain);
  now.erase(now.begin() + 50);
  CHECK(now == before);  // every other rule kept its handle
}

TEST_CASE("adding at the front inserts before the first kept rule") {
  Actual a = converged(with_forwardings(many(3)));
  auto f = many(3);
  f.insert(f.begin(), fwd(999));
  f.insert(f.begin() + 1, fwd(998));
  auto [p, after] = step(a, with_forwardings(f));
  REQUIRE(p.ops.size() == 2);
  // Both go before the first kept rule, in order; none names a rule of the
  // same transaction (the kernel would search the transaction for it).
  for (const auto& op : p.ops) {
    CHECK(std::get<NftRuleAdd>(op).place == RulePlace::before_handle);
    CHECK(std::get<NftRuleAdd>(op).ref == handles(a, kForwardingChain)[0]);
  }
  CHECK(rule_text(std::get<NftRuleAdd>(p.ops[0]).body).find("dport 999 ") != std::string::npos);
}

TEST_CASE("removing, editing and reordering touch only the rules that differ") {
  Actual a = converged(with_forwardings(many(10)));
  auto before = handles(a, kForwardingChain);

  auto removed = many(10);
  removed.erase(removed.begin() + 3);
  auto [p1, s1] = step(a, with_forwardings(removed));
  CHECK(p1.ops.size() == 1);
  CHECK(count<NftRuleDel>(p1) == 1);

  auto edited = many(10);
  edited[4].dest_addr = *IpAddr::parse("10.10.0.77");
  auto [p2, s2] = step(a, with_forwardings(edited));
  CHECK(count<NftRuleDel>(p2) == 1);
  CHECK(count<NftRuleAdd>(p2) == 1);
  auto h2 = handles(s2, kForwardingChain);
  for (size_t i = 0; i < 10; i++)
    if (i != 4) CHECK(h2[i] == before[i]);

  auto moved = many(10);
  std::rotate(moved.begin() + 2, moved.begin() + 3, moved.begin() + 8);  // rule 2 moves to 7
  auto [p3, s3] = step(a, with_forwardings(moved));
  CHECK(count<NftRuleDel>(p3) == 1);
  CHECK(count<NftRuleAdd>(p3) == 1);
}

TEST_CASE("10,000 forwardings: adding one is one op") {
  Actual a = converged(with_forwardings(many(10000)));
  auto f = many(10000);
  f.push_back(fwd(60000));
  Plan p = nft_only(plan(with_forwardings(f), a));
  REQUIRE(p.ops.size() == 1);
  CHECK(std::holds_alternative<NftRuleAdd>(p.ops[0]));
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

TEST_CASE("an invalid portforwardings.json or interfaces.json freezes the forwarding chain") {
  Desired d = with_forwardings(many(5));
  Actual a = converged(d);
  Desired bad = d;
  bad.portforwardings = {FileState::invalid, {}};
  CHECK(nft_only(plan(bad, a)).empty());
  bad = d;
  bad.interfaces.state = FileState::invalid;
  CHECK(nft_only(plan(bad, a)).empty());
  // A missing file declares no forwardings: the chain is emptied.
  Desired none;
  Plan p = nft_only(plan(none, a));
  CHECK(count<NftRuleDel>(p) == 5);
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
  CHECK(text.find("ip daddr != 192.168.1.0/24 fib daddr type 2 tcp dport 80") != std::string::npos);
  // Without a lan0 address the rules carry no LAN exclusion.
  d.interfaces = {};
  text = to_text(nft_only(plan(d, a)));
  CHECK(text.find("ip daddr != 127.0.0.0/8 fib daddr type 2 tcp dport 80 dnat to 10.10.0.23:80") !=
        std::string::npos);
}

TEST_CASE("a rejected transaction leaves the fake kernel's ruleset as it was") {
  Desired d = with_forwardings(many(3));
  Actual a = converged(d);
  Desired next = with_forwardings(many(5));
  Plan p = plan(next, a);
  FakeKernel k(a);
  k.refuse = [](const Op& op) -> std::optional<WriteError> {
    if (auto* add = std::get_if<NftRuleAdd>(&op);
        add && rule_text(add->body).find("dport 1004") != std::string::npos)
      return WriteError{EINVAL, "Invalid argument"};
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

struct CountingKernel : FakeKernel {
  using FakeKernel::FakeKernel;
  int transactions = 0;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override {
    transactions++;
    return FakeKernel::apply_nft(ops);
  }
};

}  // namespace

TEST_CASE("router7's encoding of the same rules is replaced once, in one transaction") {
  Desired d = with_forwardings(many(20));
  Actual a = converged(d);
  for (auto& c : a.nft.chains)
    if (c.name == kForwardingChain)
      for (auto& r : c.rules) r.body = router7_encoding(r.body);
  Plan p = nft_only(plan(d, a));
  CHECK(count<NftRuleDel>(p) == 20);
  CHECK(count<NftRuleAdd>(p) == 20);
  CountingKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(k.transactions == 1);  // all 40 ops commit together: no forwarding is ever absent
  CHECK(nft_only(plan(d, k.state())).empty());
}

TEST_CASE("remembered forwarding rules are the rules built afresh") {
  NftInputs in{"uplink0", *Prefix::parse("10.10.0.0/24"), many(50)};
  const NftState fresh = desired_ruleset(in);
  remember_forwarding_rules(true);
  CHECK(desired_ruleset(in) == fresh);
  CHECK(desired_ruleset(in) == fresh);  // now from the memo
  in.forwardings[7].dest_port = {81, 81};
  NftState changed = desired_ruleset(in);
  CHECK(!(changed == fresh));
  CHECK(rule_text(changed.chains[0].rules[7].body).find(":81") != std::string::npos);
  // Rules equal to the kernel's at the same place take on the kernel's bytes.
  NftChain have = desired_ruleset(in).chains[0];
  have.rules[3].body = RuleBody(std::string(have.rules[3].body.view()));  // a copy, like a dump
  CHECK(!desired_ruleset(in).chains[0].rules[3].body.shares(have.rules[3].body));
  NftChain shared = desired_ruleset(in, &have).chains[0];
  CHECK(shared.rules[3].body.shares(have.rules[3].body));
  CHECK(desired_ruleset(in).chains[0].rules[3].body.shares(have.rules[3].body));  // remembered
  have.rules[4].body = have.rules[5].body;  // a different rule at that place is not taken
  NftChain other = desired_ruleset(in, &have).chains[0];
  CHECK(other.rules[4].body == fresh.chains[0].rules[4].body);
  CHECK(!other.rules[4].body.shares(have.rules[4].body));
  in.lan = *Prefix::parse("10.10.0.0/25");  // every rule depends on lan0's prefix
  NftState other_lan = desired_ruleset(in);
  remember_forwarding_rules(false);
  CHECK(other_lan == desired_ruleset(in));
  CHECK(rule_text(other_lan.chains[0].rules[0].body).find("10.10.0.0/25") != std::string::npos);
}
