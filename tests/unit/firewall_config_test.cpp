// firewall.json (SPEC §2): the example parses into the model; every error
// names the file, the JSON path and the value; an invalid file is invalid
// as a whole (it freezes what it governs).
#include <doctest/doctest.h>
#include <netinet/in.h>

#include "model/config_parse.hpp"

using namespace netkeep;

namespace {

struct Parsed {
  std::optional<FirewallConfig> c;
  Diagnostics diags;
  std::string text() const {
    std::string s;
    for (const auto& d : diags) s += d.str() + "\n";
    return s;
  }
};

Parsed parse(std::string_view json) {
  Parsed p;
  json::Sink sink{kFirewallFile, &p.diags};
  p.c = parse_firewall(json, sink);
  return p;
}

void expect(const Parsed& p, bool ok, const std::string& line) {
  CHECK(p.c.has_value() == ok);
  CHECK_MESSAGE(p.text().find(line) != std::string::npos, "want: ", line, "\ngot: ", p.text());
}

IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}

}  // namespace

TEST_CASE("firewall.json: the SPEC's example") {
  auto p = parse(R"({"protect_lan": true, "protect_router": true,
    "open": [{"proto": "tcp", "port": "22"}],
    "pinholes": [
      {"proto": "tcp", "port": "443", "dest_iid": "::23"},
      {"proto": "tcp,udp", "port": "60000-60010", "dest_addr": "2001:db8:5::7"},
      {"proto": "tcp", "port": "22", "dest_iid": "::23", "from": "2001:db8:99::1/48"},
      {"proto": "udp", "port": "5060", "dest_addr": "203.0.113.77"}]})");
  REQUIRE_MESSAGE(p.c, p.text());
  CHECK(p.diags.empty());
  const FirewallConfig& c = *p.c;
  CHECK(c.protect_lan);
  CHECK(c.protect_router);
  REQUIRE(c.open.size() == 1);
  CHECK(c.open[0] == OpenPort{IPPROTO_TCP, {22, 22}});
  REQUIRE(c.pinholes.size() == 5);  // tcp,udp is two
  CHECK(c.pinholes[0] ==
        Pinhole{IPPROTO_TCP, {443, 443}, std::nullopt, ip("::23"), std::nullopt, 0});
  CHECK(c.pinholes[1].proto == IPPROTO_TCP);
  CHECK(c.pinholes[2].proto == IPPROTO_UDP);
  CHECK(c.pinholes[2].port == PortRange{60000, 60010});
  CHECK(c.pinholes[2].dest_addr == ip("2001:db8:5::7"));
  CHECK(c.pinholes[2].entry == 1);
  CHECK(c.pinholes[3].from == *Prefix::parse("2001:db8:99::/48"));  // network form
  CHECK(c.pinholes[4].dest_addr == ip("203.0.113.77"));
  CHECK(c.pinholes[4].entry == 3);
}

TEST_CASE("firewall.json: an empty object protects both, and false turns each off") {
  auto p = parse("{}");
  REQUIRE(p.c);
  CHECK(p.c->protect_lan);
  CHECK(p.c->protect_router);
  p = parse(R"({"protect_lan": false, "protect_router": false})");
  REQUIRE(p.c);
  CHECK_FALSE(p.c->protect_lan);
  CHECK_FALSE(p.c->protect_router);
  // What protection that is off would open is a warning, not an error.
  p = parse(R"({"protect_lan": false, "pinholes": [{"port": "80", "dest_addr": "2001:db8::1"}]})");
  expect(p, true, "warning: firewall.json: pinholes: has no effect: protect_lan is false");
  p = parse(R"({"protect_router": false, "open": [{"port": "22"}]})");
  expect(p, true, "warning: firewall.json: open: has no effect: protect_router is false");
}

TEST_CASE("firewall.json: errors name the path and the value, and the file is invalid") {
  expect(parse(R"({"protect_lan": "yes"})"), false, "firewall.json: protect_lan:");
  expect(parse(R"({"open": [{"proto": "icmp", "port": "22"}]})"), false,
         "firewall.json: open[0].proto: \"icmp\" is not tcp, udp or a comma list of them");
  expect(parse(R"({"open": [{"proto": "tcp"}]})"), false, "firewall.json: open[0].port: missing");
  expect(parse(R"({"pinholes": [{"port": "70000", "dest_addr": "2001:db8::1"}]})"), false,
         "firewall.json: pinholes[0].port: \"70000\" is not a port");
  expect(parse(R"({"pinholes": [{"port": "443"}]})"), false,
         "firewall.json: pinholes[0].dest_addr: missing");
  expect(parse(R"({"pinholes": [{"port": "443", "dest_addr": "2001:db8::1", "dest_iid": "::1"}]})"),
         false, "firewall.json: pinholes[0]: has both dest_addr and dest_iid");
  expect(parse(R"({"pinholes": [{"port": "443", "dest_addr": "2001:db8::zz"}]})"), false,
         "firewall.json: pinholes[0].dest_addr: \"2001:db8::zz\" is not an IPv4 or IPv6 address");
  expect(parse(R"({"pinholes": [{"port": "443", "dest_iid": "2001:db8::23"}]})"), false,
         "firewall.json: pinholes[0].dest_iid: \"2001:db8::23\" is not an interface identifier");
  expect(parse(R"({"pinholes": [{"port": "443", "dest_iid": "10.0.0.1"}]})"), false,
         "pinholes[0].dest_iid: \"10.0.0.1\" is not an interface identifier");
  expect(parse(R"({"pinholes": [{"port": "1-2000", "dest_addr": "2001:db8::1"}]})"), false,
         "pinholes[0].port: \"1-2000\" opens 2000 ports; a pinhole opens at most 1024");
  expect(parse(R"({"open": [{"proto": "tcp", "port": "1-65535"}]})"), false,
         "open[0].port: \"1-65535\" opens 65535 ports; an open entry opens at most 1024");
  expect(parse(R"({"pinholes": [{"port": "22", "dest_iid": "::23", "from": "192.0.2.0/24"}]})"),
         false,
         "pinholes[0].from: \"192.0.2.0/24\" is an IPv4 prefix but the pinhole's host is an IPv6 "
         "address");
  expect(parse(R"({"pinholes": [{"port": "22", "dest_addr": "2001:db8::1", "from": "nowhere"}]})"),
         false, "pinholes[0].from: \"nowhere\" is not a prefix");
  // A bare address is a one-host prefix.
  auto p =
      parse(R"({"pinholes": [{"port": "22", "dest_addr": "2001:db8::1", "from": "2001:db8::9"}]})");
  REQUIRE(p.c);
  CHECK(p.c->pinholes[0].from == *Prefix::parse("2001:db8::9/128"));
  // An unknown key is a warning.
  expect(parse(R"({"protect_wan": true})"), true, "protect_wan");
}
