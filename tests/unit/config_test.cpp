// Parsing and validation of the config files: every error names the file,
// the JSON path and the offending value; no input crashes the parser.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "model/config_parse.hpp"

using namespace netkeep;

namespace {

struct Parsed {
  bool ok;
  Diagnostics diags;
  std::string text() const {
    std::string s;
    for (const auto& d : diags) s += d.str() + "\n";
    return s;
  }
};

Parsed interfaces(std::string_view json) {
  Parsed p;
  json::Sink sink{kInterfacesFile, &p.diags};
  p.ok = parse_interfaces(json, sink).has_value();
  return p;
}

Parsed dhcp4(std::string_view json) {
  Parsed p;
  json::Sink sink{kDhcp4File, &p.diags};
  p.ok = parse_dhcp4_lease(json, sink).has_value();
  return p;
}

Parsed dhcp6(std::string_view json) {
  Parsed p;
  json::Sink sink{kDhcp6File, &p.diags};
  p.ok = parse_dhcp6_lease(json, sink).has_value();
  return p;
}

void expect_error(const Parsed& p, const std::string& line) {
  CHECK_FALSE(p.ok);
  CHECK_MESSAGE(p.text().find(line) != std::string::npos, "want: ", line, "\ngot: ", p.text());
}

const char* kGoodInterfaces = R"({
  "interfaces": [
    {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
    {"hardware_addr": "02:00:00:00:00:02", "spoof_hardware_addr": "02:00:00:00:00:aa",
     "name": "lan0", "addr": "10.10.0.1/24", "mtu": 1492, "extra_addrs": ["10.20.0.1/24"],
     "extra_routes": [{"destination": "2001:db8:5::/64", "gateway": "fe80::2"}], "fec": "RS"}
  ],
  "bridges": [{"name": "br0", "interface_hardware_addrs": ["02:00:00:00:00:03"]}]
})";

const char* kGoodDhcp4 =
    R"({"valid_until": "2026-05-18T23:46:04+02:00", "client_ip": "203.0.113.62",
 "subnet_mask": "255.255.255.128", "router": "203.0.113.1", "dns": ["192.0.2.53"]})";

const char* kGoodDhcp6 = R"({"valid_until": "0001-01-01T00:00:00Z",
 "prefixes": [{"IP": "2001:db8:4a00::", "Mask": "////////AAAAAAAAAAAAAA=="}], "dns": ["2001:db8::53"]})";

}  // namespace

TEST_CASE("the SPEC's example files parse into the model") {
  Diagnostics d;
  json::Sink sink{kInterfacesFile, &d};
  auto c = parse_interfaces(kGoodInterfaces, sink);
  REQUIRE(c);
  CHECK(d.empty());
  REQUIRE(c->interfaces.size() == 2);
  const auto& lan = c->interfaces[1];
  CHECK(lan.name == "lan0");
  CHECK(lan.mtu == 1492);
  CHECK(lan.addr->str() == "10.10.0.1/24");
  CHECK(lan.spoof_hardware_addr->str() == "02:00:00:00:00:aa");
  CHECK(lan.extra_routes.at(0).gateway->str() == "fe80::2");
  CHECK(lan.fec == "rs");  // case-insensitive
  CHECK(c->bridges.at(0).members.size() == 1);

  json::Sink s4{kDhcp4File, &d};
  auto l4 = parse_dhcp4_lease(kGoodDhcp4, s4);
  REQUIRE(l4);
  CHECK(l4->prefix_len == 25);
  CHECK(l4->router.str() == "203.0.113.1");

  json::Sink s6{kDhcp6File, &d};
  auto l6 = parse_dhcp6_lease(kGoodDhcp6, s6);
  REQUIRE(l6);
  CHECK(l6->prefixes.at(0).str() == "2001:db8:4a00::/48");
  CHECK(d.empty());
}

TEST_CASE("syntax errors, empty files and wrong top-level types") {
  expect_error(interfaces("{\"interfaces\": [}"), "interfaces.json: invalid JSON");
  expect_error(interfaces(""), "interfaces.json: file is empty");
  expect_error(interfaces("  \n"), "interfaces.json: file is empty");
  expect_error(interfaces("[1, 2]"), "interfaces.json: [1,2] is an array, expected an object");
  expect_error(dhcp4("{\"client_ip\": "), "dhcp4/wire/lease.json: invalid JSON");
  expect_error(dhcp6(""), "dhcp6/wire/lease.json: file is empty");
}

TEST_CASE("wrong JSON types name the path and the value") {
  expect_error(interfaces(R"({"interfaces": {"name": "lan0"}})"),
               R"(interfaces.json: interfaces: {"name":"lan0"} is an object, expected an array)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "mtu": "1492"}]})"),
               R"(interfaces.json: interfaces[0].mtu: "1492" is a string, expected an integer)");
  expect_error(interfaces(R"({"interfaces": [{"name": 7}]})"),
               "interfaces.json: interfaces[0].name: 7 is a number, expected a string");
  expect_error(interfaces(R"({"interfaces": ["lan0"]})"),
               R"(interfaces.json: interfaces[0]: "lan0" is a string, expected an object)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "extra_addrs": [5]}]})"),
               "interfaces.json: interfaces[0].extra_addrs[0]: 5 is a number, expected a string");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "mtu": 1492.5}]})"),
               "interfaces[0].mtu: 1492.5 is a number, expected an integer");
  expect_error(
      dhcp4(R"({"client_ip": ["1.2.3.4"], "subnet_mask": "255.0.0.0", "router": "1.0.0.1"})"),
      R"(dhcp4/wire/lease.json: client_ip: ["1.2.3.4"] is an array, expected a string)");
}

TEST_CASE("invalid values name the path and the value") {
  expect_error(
      interfaces(R"({"interfaces": [{"name": "lan0", "hardware_addr": "02:00:00:00:00"}]})"),
      R"(interfaces.json: interfaces[0].hardware_addr: "02:00:00:00:00" is not a MAC address)");
  expect_error(
      interfaces(R"({"bridges": [{"name": "br0", "interface_hardware_addrs": ["zz"]}]})"),
      R"(interfaces.json: bridges[0].interface_hardware_addrs[0]: "zz" is not a MAC address)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "addr": "10.10.0.300/24"}]})"),
               R"(interfaces.json: interfaces[0].addr: "10.10.0.300" is not an IP address)");
  expect_error(
      interfaces(R"({"interfaces": [{"name": "lan0", "addr": "10.10.0.1/33"}]})"),
      R"(interfaces.json: interfaces[0].addr: "10.10.0.1/33": prefix length must be 0-32)");
  expect_error(
      interfaces(R"({"interfaces": [{"name": "lan0", "extra_addrs": ["2001:db8::1/129"]}]})"),
      R"(interfaces[0].extra_addrs[0]: "2001:db8::1/129": prefix length must be 0-128)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "addr": "10.10.0.1"}]})"),
               R"(interfaces[0].addr: "10.10.0.1" has no prefix length)");
  expect_error(
      interfaces(R"({"interfaces": [{"name": "averyveryverylong0"}]})"),
      R"(interfaces.json: interfaces[0].name: "averyveryverylong0" is longer than 15 bytes)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan/0"}]})"),
               R"(interfaces[0].name: "lan/0" is not a valid interface name)");
  expect_error(interfaces(R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:01"}]})"),
               "interfaces[0].name: missing");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "mtu": 70000}]})"),
               "interfaces.json: interfaces[0].mtu: 70000 is out of range (68-65535");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "mtu": 10}]})"),
               "interfaces[0].mtu: 10 is out of range");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0", "fec": "turbo"}]})"),
               R"(interfaces[0].fec: "turbo" is not a FEC mode)");
  expect_error(
      interfaces(
          R"({"interfaces": [{"name": "lan0", "extra_routes": [{"destination": "10.0.0.1/8"}]}]})"),
      R"(interfaces[0].extra_routes[0].destination: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?))");
  expect_error(
      interfaces(
          R"({"interfaces": [{"name": "lan0", "extra_routes": [{"destination": "10.0.0.0/8", "gateway": "fe80::1"}]}]})"),
      R"(interfaces[0].extra_routes[0].gateway: "fe80::1" is not of the destination's address family)");
  expect_error(interfaces(R"({"interfaces": [{"name": "lan0"}, {"name": "lan0"}]})"),
               R"(interfaces[1].name: "lan0" is already the name of interfaces[0])");
}

TEST_CASE("DHCP leases: masks, addresses") {
  expect_error(
      dhcp4(
          R"({"client_ip": "203.0.113.62", "subnet_mask": "255.0.255.0", "router": "203.0.113.1"})"),
      R"(dhcp4/wire/lease.json: subnet_mask: "255.0.255.0" is not a contiguous netmask)");
  expect_error(dhcp4(R"({"client_ip": "203.0.113.62", "router": "203.0.113.1"})"),
               "dhcp4/wire/lease.json: subnet_mask: missing");
  expect_error(
      dhcp4(R"({"client_ip": "2001:db8::1", "subnet_mask": "255.0.0.0", "router": "203.0.113.1"})"),
      R"(dhcp4/wire/lease.json: client_ip: "2001:db8::1" is not an IPv4 address)");
  expect_error(
      dhcp4(
          R"({"client_ip": "203.0.113.62", "subnet_mask": "255.255.255.0", "router": "203.0.113.1", "dns": ["x"]})"),
      R"(dns[0]: "x" is not an IP address)");
  expect_error(
      dhcp6(R"({"prefixes": [{"IP": "2001:db8::", "Mask": "////AAAA//8AAAAAAAAAAA=="}]})"),
      R"(dhcp6/wire/lease.json: prefixes[0].Mask: "////AAAA//8AAAAAAAAAAA==" is not a contiguous netmask)");
  expect_error(dhcp6(R"({"prefixes": [{"IP": "2001:db8::", "Mask": "notbase64"}]})"),
               R"(prefixes[0].Mask: "notbase64" is not the base64 of a 16-byte IPv6 mask)");
  expect_error(dhcp6(R"({"prefixes": [{"IP": "10.0.0.0", "Mask": "////////AAAAAAAAAAAAAA=="}]})"),
               R"(prefixes[0].IP: "10.0.0.0" is not an IPv6 address)");
  expect_error(dhcp6(R"({"prefixes": [{"IP": "2001:db8::"}]})"), "prefixes[0].Mask: missing");
}

TEST_CASE("unknown keys are warnings, not errors") {
  auto p = interfaces(R"({"interfaces": [{"name": "lan0", "colour": "blue"}], "version": 2})");
  CHECK(p.ok);
  CHECK(!has_errors(p.diags));
  CHECK(p.text().find("warning: interfaces.json: interfaces[0].colour: unknown key, ignored") !=
        std::string::npos);
  CHECK(p.text().find("warning: interfaces.json: version: unknown key, ignored") !=
        std::string::npos);
}

TEST_CASE("null and empty strings mean unset, as Go writes them") {
  auto p = interfaces(
      R"({"interfaces": [{"name": "lan0", "hardware_addr": "", "addr": null, "mtu": 0}]})");
  CHECK(p.ok);
}

TEST_CASE("no input crashes a parser: truncations and byte flips of valid files") {
  std::mt19937 rng(42);
  for (std::string base :
       {std::string(kGoodInterfaces), std::string(kGoodDhcp4), std::string(kGoodDhcp6)}) {
    for (size_t cut = 0; cut <= base.size(); cut += 3) {
      interfaces(base.substr(0, cut));
      dhcp4(base.substr(0, cut));
      dhcp6(base.substr(0, cut));
    }
    for (int i = 0; i < 2000; i++) {
      std::string s = base;
      for (int flips = 0; flips < 3; flips++) s[rng() % s.size()] = static_cast<char>(rng() % 256);
      auto a = interfaces(s);
      auto b = dhcp4(s);
      auto c = dhcp6(s);
      // Whatever the verdict, a rejected file always says why.
      if (!a.ok) CHECK(has_errors(a.diags));
      if (!b.ok) CHECK(has_errors(b.diags));
      if (!c.ok) CHECK(has_errors(c.diags));
    }
  }
}

namespace {
Parsed wireguard(std::string_view json) {
  Parsed p;
  json::Sink sink{kWireGuardFile, &p.diags};
  p.ok = parse_wireguard(json, sink).has_value();
  return p;
}
const std::string kPriv = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
const std::string kPub = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
std::string wg(const std::string& iface_extra, const std::string& peer_extra) {
  return R"({"interfaces": [{"name": "wg0", "private_key": ")" + kPriv + R"(", "port": 51820)" +
         iface_extra + R"(, "peers": [{"public_key": ")" + kPub +
         R"(", "allowed_ips": ["10.0.137.0/24"])" + peer_extra + "}]}]}";
}
}  // namespace

TEST_CASE("wireguard.json: a valid file and its errors") {
  CHECK(wireguard(wg("", R"(, "endpoint": "192.0.2.7:51820")")).ok);
  CHECK(wireguard(wg("", R"(, "endpoint": "[2001:db8::7]:51820")")).ok);
  CHECK(wireguard(wg("", R"(, "endpoint": "vpn.example.org:51820")")).ok);
  expect_error(wireguard(wg("", R"(, "endpoint": "192.0.2.7")")),
               R"(wireguard.json: interfaces[0].peers[0].endpoint: "192.0.2.7" has no port)");
  expect_error(wireguard(wg("", R"(, "endpoint": "192.0.2.7:70000")")),
               R"(interfaces[0].peers[0].endpoint: "192.0.2.7:70000" has no valid port (1-65535))");
  expect_error(wireguard(wg("", R"(, "endpoint": "2001:db8::7:51820")")),
               "has an IPv6 address without brackets");
  expect_error(wireguard(R"({"interfaces": [{"name": "wg0", "private_key": ")" + kPriv +
                         R"(", "peers": [{"public_key": ")" + kPub +
                         R"(", "allowed_ips": ["10.0.137.0/33"]}]}]})"),
               R"(interfaces[0].peers[0].allowed_ips[0]: "10.0.137.0/33" is not a prefix)");
  auto bad_pub = wireguard(R"({"interfaces": [{"name": "wg0", "private_key": ")" + kPriv +
                           R"(", "peers": [{"public_key": "short"}]}]})");
  expect_error(bad_pub,
               R"(interfaces[0].peers[0].public_key: "short" is not the base64 of 32 bytes)");
  auto bad_priv = wireguard(
      R"({"interfaces": [{"name": "wg0", "private_key": "c2VjcmV0LXByaXZhdGUta2V5", "peers": []}]})");
  expect_error(
      bad_priv,
      "wireguard.json: interfaces[0].private_key: is not the base64 of 32 bytes (value hidden)");
  CHECK(bad_priv.text().find("c2VjcmV0") == std::string::npos);  // never the private key's value
  expect_error(wireguard(R"({"interfaces": [{"name": "wg0", "private_key": ")" + kPriv +
                         R"(", "port": 65536}]})"),
               "interfaces[0].port: 65536 is not a port (0-65535)");
}

TEST_CASE("names the kernel refuses or that collide are config errors naming both entries") {
  const std::string dev = R"(", "private_key": ")" + kPriv + R"(", "peers": []})";
  expect_error(wireguard(R"({"interfaces": [{"name": "wg/x)" + dev + "]}"),
               R"(wireguard.json: interfaces[0].name: "wg/x" is not a valid interface name)");
  expect_error(wireguard(R"({"interfaces": [{"name": "wg 0)" + dev + "]}"),
               R"(interfaces[0].name: "wg 0" is not a valid interface name)");
  expect_error(wireguard(R"({"interfaces": [{"name": "..)" + dev + "]}"),
               R"(interfaces[0].name: ".." is not a valid interface name)");
  expect_error(
      wireguard(R"({"interfaces": [{"name": "wg0)" + dev + R"(, {"name": "wg0)" + dev + "]}"),
      R"(wireguard.json: interfaces[1].name: "wg0" is already the name of interfaces[0])");
  // A bridge of the name an entry gives a link it matches by MAC: two links of one name.
  expect_error(
      interfaces(R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "lan0"}],
                     "bridges": [{"name": "lan0", "interface_hardware_addrs": ["02:00:00:00:00:03"]}]})"),
      R"(interfaces.json: bridges[0].name: "lan0" is also the name interfaces[0] gives the link with MAC 02:00:00:00:00:02)");
  // An entry of the bridge's own name, without a MAC, configures the bridge: fine.
  CHECK(interfaces(R"({"interfaces": [{"name": "lan0", "addr": "10.10.0.1/24"}],
                       "bridges": [{"name": "lan0", "interface_hardware_addrs": ["02:00:00:00:00:03"]}]})")
            .ok);
}

TEST_CASE("an error quotes at most 80 bytes of the offending value") {
  const std::string port(100000, '7');
  Diagnostics d;
  json::Sink sink{kPortForwardingsFile, &d};
  CHECK(!parse_portforwardings(R"({"forwardings": [{"port": ")" + port +
                                   R"(", "dest_addr": "10.0.0.1", "dest_port": "80"}]})",
                               sink));
  REQUIRE(!d.empty());
  const std::string line = d[0].str();
  CHECK(line.size() < 200);
  CHECK(line == "portforwardings.json: forwardings[0].port: \"" + std::string(77, '7') +
                    "...(100000 bytes)\" is not a port (1-65535) or a range N-M");
}

TEST_CASE("an entry of a bridge's name with a member's MAC configures the bridge") {
  CHECK(
      interfaces(
          R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:03", "name": "lan0", "addr": "10.10.0.1/24"}],
                       "bridges": [{"name": "lan0", "interface_hardware_addrs": ["02:00:00:00:00:03"]}]})")
          .ok);
}

TEST_CASE("a WireGuard device named like a bridge or a MAC-matched link is an error naming both") {
  char t[] = "/tmp/netkeep-names-XXXXXX";
  REQUIRE(mkdtemp(t));
  const std::filesystem::path dir = t;
  auto put = [&](const char* name, const std::string& text) { std::ofstream(dir / name) << text; };
  const std::string dev = R"(", "private_key": ")" + kPriv + R"(", "peers": []})";
  put(kInterfacesFile, R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "lan0"},
                                         {"name": "wg1", "addr": "10.9.0.1/24"}],
                          "bridges": [{"name": "br0", "interface_hardware_addrs": ["02:00:00:00:00:03"]}]})");
  put(kWireGuardFile, R"({"interfaces": [{"name": "lan0)" + dev + R"(, {"name": "br0)" + dev +
                          R"(, {"name": "wg1)" + dev + "]}");
  chmod((dir / kWireGuardFile).c_str(), 0600);
  Diagnostics d;
  Desired desired = load_config(dir, d);
  std::string text;
  for (const auto& x : d) text += x.str() + "\n";
  CHECK(text ==
        "wireguard.json: interfaces[0].name: \"lan0\" is also the name of interfaces.json "
        "interfaces[0], which takes the link with MAC 02:00:00:00:00:02\n"
        "wireguard.json: interfaces[1].name: \"br0\" is also the name of the bridge "
        "interfaces.json bridges[0]\n");
  // wg1's entry without a MAC configures the device (its address): fine.
  CHECK(desired.wireguard.state == FileState::invalid);
  CHECK(desired.interfaces.state == FileState::ok);
  std::filesystem::remove_all(dir);
}
