// netkeep doctor's judgement, on rules written as the kernel holds them.
#include <doctest/doctest.h>

#include <string>

#include "model/nft.hpp"
#include "model/nft_rule_facts.hpp"
#include "model/ownership.hpp"
#include "reconciler/doctor.hpp"
#include "values.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

// Rule bytes as nft and iptables-nft send them (linux/netfilter/nf_tables.h).
struct Rule {
  ExprWriter w;
  Rule& l4proto(uint8_t p) {  // meta l4proto P
    w.begin("meta").be32(2, 16).be32(1, 1).end();
    w.begin("cmp").be32(1, 1).be32(2, 0).data(3, std::string(1, static_cast<char>(p))).end();
    return *this;
  }
  Rule& dport(uint16_t p) {  // th dport P
    w.begin("payload").be32(1, 1).be32(2, 2).be32(3, 2).be32(4, 2).end();
    const char be[2] = {static_cast<char>(p >> 8), static_cast<char>(p & 0xff)};
    w.begin("cmp").be32(1, 1).be32(2, 0).data(3, std::string(be, 2)).end();
    return *this;
  }
  Rule& dnat() {
    w.begin("nat").be32(1, 1).be32(2, 2).be32(3, 1).end();
    return *this;
  }
  Rule& redirect() {
    w.begin("redir").end();
    return *this;
  }
  Rule& verdict(int32_t code, const char* chain = "") {
    w.begin("immediate").be32(1, 0).verdict(2, code, chain).end();
    return *this;
  }
  RuleBody take() { return w.take(); }
};

Desired forwarding_tcp(uint16_t first, uint16_t last) {
  Desired d;
  d.portforwardings.state = FileState::ok;
  d.portforwardings.value.forwardings = {{6, {first, last}, ip("10.10.0.23"), {first, last}}};
  return d;
}

Actual router() {
  Actual a;
  a.links = {{"lan0", "", *Mac::parse("02:00:00:00:00:aa"), 1500, true, ""},
             {"uplink0", "", *Mac::parse("02:00:00:00:00:01"), 1500, true, ""}};
  a.addrs = {{"lan0", pre("10.10.0.1/24"), ip("10.10.0.255"), kAddrProtoInterfaces}};
  a.routes = {
      {pre("0.0.0.0/0"), ip("203.0.113.1"), "uplink0", kRouteProtoDhcp, 0, std::nullopt, 0}};
  return a;
}

ForeignChain nat_prerouting(int32_t priority, std::vector<RuleBody> rules) {
  return {NftFamily::ip, "nat", "PREROUTING", BaseChain{"nat", 0, priority, 1}, std::move(rules)};
}

std::string all(const std::vector<Finding>& fs) {
  std::string s;
  for (const auto& f : fs) s += to_text(f) + "\n";
  return s;
}

}  // namespace

TEST_CASE("rule facts: protocol, port, NAT and verdict from the kernel's bytes") {
  RuleFacts f = rule_facts(Rule().l4proto(6).dport(8080).dnat().take());
  CHECK(f.l4proto == 6);
  CHECK(f.dport_first == 8080);
  CHECK(f.dport_last == 8080);
  CHECK(f.dnat);
  CHECK_FALSE(f.redirect);
  f = rule_facts(Rule().l4proto(17).redirect().take());
  CHECK(f.redirect);
  CHECK_FALSE(f.dport_first);
  CHECK(rule_facts(Rule().verdict(-3, "DOCKER").take()).jump == "DOCKER");
  CHECK(rule_facts(Rule().verdict(0).take()).drop);
  CHECK(rule_facts(Rule().verdict(1).take()).accept);
  CHECK_FALSE(rule_facts(Rule().verdict(1).take()).drop);
  CHECK(rule_facts("garbage").jump.empty());  // malformed bytes: no facts
}

TEST_CASE("doctor: another program's DNAT of a forwarded port, through its jumps") {
  const Desired d = forwarding_tcp(6000, 6010);
  Survey s;
  s.chains = {nat_prerouting(-100, {Rule().verdict(-3, "DOCKER").take()}),
              {NftFamily::ip,
               "nat",
               "DOCKER",
               std::nullopt,
               {Rule().l4proto(6).dport(6005).dnat().take()}}};
  auto fs = diagnose(d, router(), {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].severity == Severity::error);
  CHECK(fs[0].what.find("tcp 6000-6010: netkeep forwards it to 10.10.0.23:6000-6010, and DNATs it "
                        "too, first (priority -100 before netkeep's 0)") != std::string::npos);

  // Another protocol or port: no conflict.
  s.chains[1].rules = {Rule().l4proto(17).dport(6005).dnat().take(),
                       Rule().l4proto(6).dport(7000).dnat().take()};
  CHECK(diagnose(d, router(), {}, s).empty());
  // Every port (no port match): a conflict, said so.
  s.chains[1].rules = {Rule().dnat().take()};
  fs = diagnose(d, router(), {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].what.find("(every port)") != std::string::npos);
  // At netkeep's own priority: the order the chains were made decides.
  s.chains[0].base->priority = 0;
  fs = diagnose(d, router(), {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].severity == Severity::error);
  CHECK(fs[0].what.find("at netkeep's own priority 0") != std::string::npos);
  // After netkeep's chain: its rule never sees those connections; a warning.
  s.chains[0].base->priority = 10;
  fs = diagnose(d, router(), {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].severity == Severity::warning);
  // An invalid portforwardings.json forwards nothing to conflict with.
  Desired invalid = d;
  invalid.portforwardings.state = FileState::invalid;
  CHECK(diagnose(invalid, router(), {}, s).empty());
}

TEST_CASE("doctor: policies that drop on netkeep's hooks") {
  Survey s;
  s.chains = {{NftFamily::ip, "filter", "FORWARD", BaseChain{"filter", 2, 0, 0}, {}},
              {NftFamily::inet, "fw", "input", BaseChain{"filter", 1, -10, 0}, {}},
              {NftFamily::inet, "fw", "late_input", BaseChain{"filter", 1, 10, 0}, {}},
              {NftFamily::ip6, "filter", "FORWARD", BaseChain{"filter", 2, 0, 0}, {}},
              {NftFamily::ip, "filter", "ACCEPTING", BaseChain{"filter", 2, -5, 1}, {}}};
  auto fs = diagnose(Desired{}, router(), {}, s);
  const std::string text = all(fs);
  CHECK(fs.size() == 2);
  CHECK(text.find("error: ip filter chain FORWARD: policy drop on the forward hook") !=
        std::string::npos);
  CHECK(text.find("warning: inet fw chain input: policy drop on the input hook (priority -10") !=
        std::string::npos);
  CHECK(text.find("late_input") == std::string::npos);  // after netkeep's: its counter counted
  CHECK(text.find("ip6") == std::string::npos);         // netkeep forwards IPv4
  CHECK(fs[0].severity == Severity::error);             // errors first
}

TEST_CASE("doctor: sysctls changed back, other pending changes, kernel settings, destinations") {
  Plan pending;
  pending.ops = {SysctlSet{"net/ipv4/ip_forward", "0", "1"},
                 AddrAdd{{"lan0", pre("10.20.0.1/24"), ip("10.20.0.255"), kAddrProtoInterfaces}}};
  Actual a = router();
  a.links[0].kind = "bridge";
  a.routes.push_back(
      {pre("0.0.0.0/0"), std::nullopt, "wg0", kRouteProtoBoot, 0, std::nullopt, 100});
  Survey s;
  s.sysctls = {{"net/ipv4/conf/all/rp_filter", "0"},
               {"net/ipv4/conf/uplink0/rp_filter", "1"},
               {"net/bridge/bridge-nf-call-iptables", "1"}};
  Desired d = forwarding_tcp(80, 80);
  d.portforwardings.value.forwardings[0].dest_addr = ip("192.168.5.5");
  const std::string text = all(diagnose(d, a, pending, s));
  CHECK(text.find("warning: net.ipv4.ip_forward is 0; netkeep sets 1") != std::string::npos);
  CHECK(text.find("warning: 1 change pending between the config and the kernel (the first: + addr "
                  "10.20.0.1/24") != std::string::npos);
  CHECK(text.find("rp_filter is strict on uplink0 (all 0, uplink0 1) and routes are asymmetric (2 "
                  "IPv4 default routes, one via wg0)") != std::string::npos);
  CHECK(text.find("lan0 is a bridge and br_netfilter") != std::string::npos);
  CHECK(text.find("forwarding tcp 80 -> 192.168.5.5: 192.168.5.5 is on no network") !=
        std::string::npos);

  // Loose rp_filter, no bridge hook, a connected destination: nothing.
  s.sysctls = {{"net/ipv4/conf/all/rp_filter", "2"}, {"net/ipv4/conf/uplink0/rp_filter", "0"}};
  CHECK(diagnose(forwarding_tcp(80, 80), a, {}, s).empty());
}

TEST_CASE("doctor: findings as JSON") {
  std::vector<Finding> fs = {{Severity::error, "a \"quoted\" thing", "do x"}};
  CHECK(to_json(fs) ==
        "{\"findings\": [\n  {\"severity\": \"error\", \"what\": \"a \\\"quoted\\\" thing\", "
        "\"fix\": \"do x\"}\n]}\n");
  CHECK(to_json(std::vector<Finding>{}) == "{\"findings\": []}\n");
}

TEST_CASE("leases: one past its time, none while uplink0 has no address, a client configuring it too") {
  Desired d;
  Survey s;
  CHECK(diagnose(d, router(), {}, s).empty());  // leases not judged without a time
  s.now = 1780000000;
  auto fs = diagnose(d, router(), {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].what ==
        "uplink0 has no IPv4 address and there is no dhcp4/wire/lease.json: no DHCP client hands "
        "netkeep a lease");
  Actual a = router();
  a.addrs.push_back({"uplink0", pre("203.0.113.62/25"), ip("203.0.113.127"), 0});
  CHECK(diagnose(d, a, {}, s).empty());

  d.dhcp4 = {FileState::ok, {ip("203.0.113.62"), 25, ip("203.0.113.1"), {}}};
  d.dhcp4.value.valid_until = {Timestamp::Kind::time, 1780000000 - 90};
  fs = diagnose(d, a, {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].what ==
        "dhcp4/wire/lease.json: the lease of 203.0.113.62 was valid until 2026-05-28T20:25:10Z, "
        "90 s ago, and no DHCP client renewed or ended it");
  d.dhcp4.value.valid_until.unix_seconds = 1780000000 + 90;  // in force
  CHECK(diagnose(d, a, {}, s).empty());
  d.dhcp4.value.valid_until.unix_seconds = 1780000000 - 90;
  d.dhcp4.value.ended = true;  // ended: nothing to say
  CHECK(diagnose(d, a, {}, s).empty());

  // dhcpcd configuring uplink0 itself: its default route has a metric.
  a.routes.push_back({pre("0.0.0.0/0"), ip("203.0.113.1"), "uplink0", kRouteProtoDhcp, 0,
                      ip("203.0.113.62"), 1002});
  fs = diagnose(d, a, {}, s);
  REQUIRE(fs.size() == 1);
  CHECK(fs[0].what == "a DHCP client configures uplink0 itself beside netkeep: route 0.0.0.0/0 "
                      "proto dhcp metric 1002");
}

TEST_CASE("doctor: a LAN on a global IPv6 prefix with nothing protecting it") {
  Actual a = router();
  a.addrs.push_back({"lan0", pre("2001:db8:4a00::1/64"), std::nullopt, kAddrProtoDhcp6});
  Desired d;
  std::string text = all(diagnose(d, a, {}, {}));
  CHECK(text.find("warning: lan0 is on the global prefix 2001:db8:4a00::/64: every LAN host's "
                  "IPv6 address on it is reachable from the internet, and there is no "
                  "firewall.json") != std::string::npos);
  CHECK(text.find("fix: protect the LAN") != std::string::npos);
  d.firewall = {FileState::ok, {}};
  d.firewall.value.protect_lan = false;
  CHECK(all(diagnose(d, a, {}, {})).find("firewall.json has protect_lan false") !=
        std::string::npos);
  d.firewall.value.protect_lan = true;  // protected: nothing to say
  CHECK(all(diagnose(d, a, {}, {})).find("global prefix") == std::string::npos);
  // Only link-local and unique local addresses on lan0: nothing reachable.
  a.addrs.back() = {"lan0", pre("fd00:1::1/64"), std::nullopt, kAddrProtoDhcp6};
  CHECK(all(diagnose(Desired{}, a, {}, {})).find("global prefix") == std::string::npos);
}

TEST_CASE("doctor: a pinhole to a host that does not answer neighbour discovery") {
  Actual a = router();
  Desired d;
  d.firewall = {FileState::ok, {}};
  Pinhole by_addr{6, {443, 443}, ip("2001:db8:5::7"), std::nullopt, std::nullopt, 0};
  Pinhole by_iid{17, {5060, 5060}, std::nullopt, ip("::23"), std::nullopt, 1};
  d.firewall.value.pinholes = {by_addr, by_iid};
  d.dhcp6.state = FileState::ok;
  d.dhcp6.value.prefixes = {pre("2001:db8:4a00::/64")};
  Survey s;
  CHECK(all(diagnose(d, a, {}, s)).find("neighbour") == std::string::npos);
  s.unanswered = {ip("2001:db8:5::7"), ip("2001:db8:4a00::23"), ip("2001:db8:4a00::99")};
  const std::string text = all(diagnose(d, a, {}, s));
  CHECK(text.find("warning: firewall.json: pinholes[0] (tcp 443 -> 2001:db8:5::7): 2001:db8:5::7 "
                  "does not answer neighbour discovery on lan0") != std::string::npos);
  CHECK(text.find("pinholes[1] (udp 5060 -> ::23): 2001:db8:4a00::23 does not answer") !=
        std::string::npos);
  CHECK(text.find("interface identifier") != std::string::npos);
  CHECK(text.find("4a00::99") == std::string::npos);  // no pinhole's host
  d.firewall.value.protect_lan = false;               // the pinholes open nothing then
  CHECK(all(diagnose(d, a, {}, s)).find("neighbour") == std::string::npos);
}

TEST_CASE("doctor: protect_router closing a port docker-proxy listens on") {
  Actual a = router();
  a.addrs.push_back({"uplink0", pre("2001:db8:1::2/64"), std::nullopt, kAddrProtoDhcp6});
  Desired d;
  d.firewall = {FileState::ok, {}};
  Survey s;
  s.listening = {{6, ip("::"), 8080, "docker-proxy"},
                 {6, ip("2001:db8:1::2"), 8443, "docker-proxy"},
                 {6, ip("10.10.0.1"), 9000, "docker-proxy"},  // on the LAN's address only
                 {6, ip("::"), 22, "sshd"}};                  // closed by design: not another's
  std::string text = all(diagnose(d, a, {}, s));
  CHECK(text.find("warning: firewall.json's protect_router closes tcp 8080 (IPv6) to the "
                  "internet, where docker-proxy listens") != std::string::npos);
  CHECK(text.find("add {\"proto\": \"tcp\", \"port\": \"8080\"} to firewall.json's \"open\"") !=
        std::string::npos);
  CHECK(text.find("tcp 8443 (IPv6)") != std::string::npos);
  CHECK(text.find("9000") == std::string::npos);
  CHECK(text.find("tcp 22 ") == std::string::npos);
  // Opened, or DNATed first by docker's own rule (then forwarded, and
  // `ct status dnat` lets it through): nothing to say.
  d.firewall.value.open = {{6, {8000, 8100}}};
  s.chains = {{NftFamily::ip6,
               "nat",
               "PREROUTING",
               BaseChain{"nat", 0, -100, 1},
               {Rule{}.l4proto(6).dport(8443).dnat().take()}}};
  text = all(diagnose(d, a, {}, s));
  CHECK(text.find("docker-proxy") == std::string::npos);
  // An IPv4 DNAT does not cover IPv6.
  s.chains.front().family = NftFamily::ip;
  CHECK(all(diagnose(d, a, {}, s)).find("tcp 8443 (IPv6)") != std::string::npos);
  d.firewall.value.protect_router = false;
  CHECK(all(diagnose(d, a, {}, s)).find("docker-proxy") == std::string::npos);
}
