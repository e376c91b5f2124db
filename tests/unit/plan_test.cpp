// Planner and executor behaviour beyond the golden cases.
#include <doctest/doctest.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "model/actual_json.hpp"
#include "model/config_parse.hpp"
#include "model/ownership.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/merge_walk.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"
#include "fresh_system.hpp"
#include "values.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

InterfacesConfig ifcfg(const char* json) {
  Diagnostics d;
  json::Sink sink{kInterfacesFile, &d};
  auto c = parse_interfaces(json, sink);
  INFO((d.empty() ? std::string() : d[0].str()));
  REQUIRE(c);
  return *c;
}

Desired with_interfaces(const char* json) {
  Desired d;
  d.interfaces = {FileState::ok, ifcfg(json)};
  return d;
}

Actual two_links() {
  Actual a;
  a.links = {{"eth3", "veth", mac("02:00:00:00:00:01"), 1500, true, ""},
             {"eth4", "veth", mac("02:00:00:00:00:02"), 1500, true, ""}};
  a.sysctls = {{"net/ipv4/ip_forward", "1"},
               {"net/ipv6/conf/all/forwarding", "1"},
               {"net/ipv4/icmp_ratelimit", "0"},
               {"net/ipv6/icmp/ratelimit", "0"}};
  return a;
}

// The plan without its nftables ops: these tests are about links,
// addresses, routes, sysctls and files (nftables has tests of its own).
Plan plan_core(const Desired& d, const Actual& a) {
  Plan p = plan(d, a);
  std::erase_if(p.ops, [](const Op& op) { return is_nft(op); });
  return p;
}

bool has_line(const Plan& p, const std::string& line) {
  for (const auto& op : p.ops)
    if (to_text(op) == line) return true;
  return false;
}

}  // namespace

TEST_CASE("a MAC match wins over a name match") {
  // eth4 is named like the first entry, but eth3 carries its MAC.
  Actual a = two_links();
  a.links[1].name = "uplink0";
  auto p = plan_core(with_interfaces(R"({"interfaces": [
      {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
      {"hardware_addr": "02:00:00:00:00:02", "name": "lan0"}]})"),
                     a);
  // uplink0 (MAC ..02) must move out of the way before eth3 takes its name.
  REQUIRE(p.ops.size() >= 2);
  CHECK(to_text(p.ops[0]) == "~ link uplink0 (02:00:00:00:00:02): rename -> lan0");
  CHECK(to_text(p.ops[1]) == "~ link eth3 (02:00:00:00:00:01): rename -> uplink0");
  FakeKernel k(a);
  CHECK(execute(p, k).ok());
  CHECK(k.state().link("uplink0")->mac == mac("02:00:00:00:00:01"));
}

TEST_CASE("a config entry whose link does not exist is skipped") {
  auto p = plan_core(
      with_interfaces(
          R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:99", "name": "wan9", "addr": "10.9.0.1/24"}]})"),
      two_links());
  CHECK(p.empty());
}

TEST_CASE("links not in the config are left alone") {
  Actual a = two_links();
  a.links[1].up = false;
  auto p =
      plan_core(with_interfaces(
                    R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "eth3"}]})"),
                a);
  CHECK(p.empty());
}

TEST_CASE("an invalid interfaces.json leaves its links, addresses and routes alone") {
  Actual a = two_links();
  a.addrs = {{"eth4", pre("10.30.0.1/24"), ip("10.30.0.255"), kAddrProtoInterfaces}};
  a.routes = {
      {pre("10.99.0.0/16"), ip("10.30.0.254"), "eth4", kRouteProtoNetkeep, 0, std::nullopt, 0}};
  Desired d;
  d.interfaces.state = FileState::invalid;
  CHECK(plan_core(d, a).empty());
  // A missing file declares nothing: netkeep's own objects are swept.
  d.interfaces.state = FileState::missing;
  auto p = plan_core(d, a);
  CHECK(
      has_line(p, "- addr 10.30.0.1/24 brd 10.30.0.255 dev eth4  (no longer in interfaces.json)"));
  CHECK(has_line(p,
                 "- route 10.99.0.0/16 via 10.30.0.254 dev eth4 proto netkeep  (no longer in "
                 "interfaces.json)"));
}

TEST_CASE("an invalid interfaces.json freezes everything derived from it") {
  // Converged on a valid config: uplink0 by DHCP, lan0 with an address,
  // forwardings, resolv.conf as a symlink netkeep may replace.
  Desired d = with_interfaces(R"({"interfaces": [
      {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
      {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "192.168.42.1/24"}]})");
  d.dhcp4 = {FileState::ok, {ip("203.0.113.62"), 25, ip("203.0.113.1"), {}}};
  d.portforwardings = {FileState::ok, {{{6, {8080, 8080}, ip("192.168.42.23"), {80, 80}}}}};
  FakeKernel k(two_links());
  REQUIRE(execute(plan(d, two_links()), k).ok());
  Actual a = k.state();
  a.files["/tmp/resolv.conf"] = {FileKind::symlink, ""};
  a.sysctls["net/ipv6/conf/uplink0/accept_ra"] = "0";  // someone changed it
  Desired bad = d;
  bad.interfaces = {FileState::invalid, {}};
  // Nothing interfaces.json governs moves: not the hairpin rule (which
  // would fall back to its no-address form), the forwarding chain's LAN
  // exclusion, the uplink's masquerade and MSS clamping, accept_ra, or
  // resolv.conf.
  CHECK(to_text(plan(bad, a)) == "");
  // A renamed uplink: the rules keep the name the kernel has.
  a.links[0].name = "eth0";
  a.routes.clear();
  a.addrs.clear();
  Plan p = plan(bad, a);
  for (const auto& op : p.ops) CHECK_MESSAGE(!is_nft(op), to_text(op));
  // The DHCP default route follows the lease, and only if it is there.
  a = k.state();
  bad.dhcp4.value.router = ip("203.0.113.2");
  p = plan(bad, a);
  CHECK(has_line(p, "+ route default via 203.0.113.2 dev uplink0 proto dhcp src 203.0.113.62"));
  // WireGuard's way: peer routes via the router, no default route.
  std::erase_if(a.routes, [](const Route& r) { return r.dst.len == 0; });
  a.routes.push_back({pre("192.0.2.7/32"), ip("203.0.113.1"), "uplink0", kRouteProtoDhcp, 0,
                      ip("203.0.113.62"), 0});
  p = plan(bad, a);
  CHECK_FALSE(
      has_line(p, "+ route default via 203.0.113.2 dev uplink0 proto dhcp src 203.0.113.62"));
}

TEST_CASE("the DHCPv4 sweep spares interfaces.json's addresses and foreign routes") {
  Actual a = two_links();
  a.links[0].name = "uplink0";
  a.addrs = {{"uplink0", pre("192.0.2.1/24"), ip("192.0.2.255"), kAddrProtoInterfaces},
             {"uplink0", pre("198.18.0.5/24"), ip("198.18.0.255"), 0}};
  a.routes = {
      {pre("10.0.0.0/8"), ip("192.0.2.254"), "uplink0", kRouteProtoBoot, 0, std::nullopt, 0}};
  Desired d;
  d.dhcp4 = {FileState::ok, {ip("203.0.113.62"), 25, ip("203.0.113.1"), {}}};
  d.interfaces.state = FileState::invalid;
  auto p = plan_core(d, a);
  CHECK(has_line(p, "- addr 198.18.0.5/24 brd 198.18.0.255 dev uplink0  (stale DHCPv4 address)"));
  CHECK_FALSE(
      has_line(p, "- addr 192.0.2.1/24 brd 192.0.2.255 dev uplink0  (stale DHCPv4 address)"));
  for (const auto& op : p.ops) CHECK_FALSE(std::holds_alternative<RouteDel>(op));
}

TEST_CASE("an ended lease takes its address and routes away; a missing file takes nothing") {
  Desired d = with_interfaces(R"({"interfaces": [
      {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
      {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "192.168.42.1/24"}]})");
  d.dhcp4 = {FileState::ok, {ip("203.0.113.62"), 25, ip("203.0.113.1"), {}}};
  d.dhcp6.state = FileState::ok;
  d.dhcp6.value.prefixes = {pre("2001:db8:4a00::/48")};
  FakeKernel k(two_links());
  REQUIRE(execute(plan(d, two_links()), k).ok());
  const Actual a = k.state();
  CHECK(to_text(plan(d, a)) == "");

  Desired ended = d;
  ended.dhcp4.value.ended = true;
  ended.dhcp6.value.ended = true;
  Plan p = plan(ended, a);
  CHECK(has_line(p, "- addr 203.0.113.62/25 brd 203.0.113.127 dev uplink0  (DHCPv4 lease ended)"));
  CHECK(has_line(p, "- addr 2001:db8:4a00::1/64 dev lan0  (DHCPv6 lease ended)"));
  CHECK(has_line(p, "- route default via 203.0.113.1 dev uplink0 proto dhcp src 203.0.113.62  (DHCPv4 lease ended)"));
  CHECK(has_line(p, "- route 203.0.113.1 dev uplink0 proto dhcp scope link src 203.0.113.62  (DHCPv4 lease ended)"));
  CHECK_FALSE(has_line(p, "- addr 192.168.42.1/24 brd 192.168.42.255 dev lan0  (DHCPv4 lease ended)"));
  REQUIRE(execute(p, k).ok());
  CHECK(to_text(plan(ended, k.state())) == "");  // converged

  // A missing file ("no client has run yet") removes nothing.
  Desired missing = d;
  missing.dhcp4 = {};
  missing.dhcp6 = {};
  CHECK(to_text(plan(missing, a)) == "");
}

TEST_CASE("origin: the mark names the owning file; unmarked IPv4 on uplink0 is the lease's") {
  auto addr = [](const char* dev, const char* p, uint8_t proto) {
    return Address{dev, pre(p), std::nullopt, proto}.origin();
  };
  CHECK(addr("lan0", "10.10.0.1/24", kAddrProtoInterfaces) == Origin::interfaces);
  CHECK(addr("uplink0", "203.0.113.62/25", kAddrProtoDhcp4) == Origin::dhcp4);
  CHECK(addr("lan0", "2001:db8::1/64", kAddrProtoDhcp6) == Origin::dhcp6);
  CHECK(addr("uplink0", "198.18.0.5/24", 0) == Origin::dhcp4);  // router7's, unmarked
  CHECK(addr("uplink0", "2001:db8::5/64", 0) == Origin::foreign);
  CHECK(addr("lan0", "198.18.0.5/24", 0) == Origin::foreign);
  CHECK(addr("lan0", "fe80::1/64", 3) == Origin::foreign);  // the kernel's link-local
  for (Origin o : {Origin::interfaces, Origin::dhcp4, Origin::dhcp6})
    CHECK(addr("lan0", "2001:db8::1/64", addr_proto(o)) == o);

  auto route = [](uint8_t proto) {
    return Route{pre("10.0.0.0/8"), std::nullopt, "lan0", proto, 0, std::nullopt, 0}.origin();
  };
  CHECK(route(kRouteProtoNetkeep) == Origin::interfaces);
  CHECK(route(kRouteProtoDhcp) == Origin::dhcp4);
  CHECK(route(kRouteProtoBoot) == Origin::foreign);
  CHECK(route(kRouteProtoKernel) == Origin::foreign);
  for (Origin o : {Origin::interfaces, Origin::dhcp4}) CHECK(route(route_proto(o)) == o);
}

TEST_CASE("an invalid lease leaves DHCP state alone") {
  Actual a = two_links();
  a.links[0].name = "uplink0";
  a.addrs = {{"uplink0", pre("203.0.113.62/25"), ip("203.0.113.127"), kAddrProtoDhcp4}};
  a.routes = {
      {pre("0.0.0.0/0"), ip("203.0.113.1"), "uplink0", kRouteProtoDhcp, 0, ip("203.0.113.62"), 0}};
  a.sysctls["net/ipv6/conf/uplink0/accept_ra"] = "2";
  Desired d;
  d.dhcp4.state = FileState::invalid;
  d.dhcp6.state = FileState::invalid;
  CHECK(plan_core(d, a).empty());
}

TEST_CASE("resolv.conf: written when missing or a symlink, never over a regular file") {
  const char* cfg =
      R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24"}]})";
  Actual a = two_links();
  a.links[1].name = "lan0";
  a.addrs = {{"lan0", pre("10.10.0.1/24"), ip("10.10.0.255"), kAddrProtoInterfaces}};
  a.files["/tmp/resolv.conf"] = {FileKind::symlink, ""};
  auto p = plan_core(with_interfaces(cfg), a);
  REQUIRE(p.ops.size() == 1);
  CHECK(to_text(p.ops[0]) ==
        R"(~ file /tmp/resolv.conf (replaces a symlink): "nameserver 10.10.0.1")");
  a.files["/tmp/resolv.conf"] = {FileKind::regular, "nameserver 100.100.100.100\n"};
  CHECK(plan_core(with_interfaces(cfg), a).empty());
}

TEST_CASE("a wrong broadcast address is repaired in place") {
  Actual a = two_links();
  a.addrs = {{"eth4", pre("10.10.0.1/24"), std::nullopt, kAddrProtoInterfaces}};
  auto p = plan_core(
      with_interfaces(
          R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "eth4", "addr": "10.10.0.1/24"}]})"),
      a);
  REQUIRE(p.ops.size() == 1);
  CHECK(to_text(p.ops[0]) == "+ addr 10.10.0.1/24 brd 10.10.0.255 dev eth4");
}

TEST_CASE("the executor collects every error and runs what does not depend on a failure") {
  Actual a = two_links();
  a.links[0].up = a.links[1].up = false;
  auto d = with_interfaces(R"({"interfaces": [
      {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0", "mtu": 9000, "addr": "192.0.2.1/24"},
      {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24",
       "extra_routes": [{"destination": "10.99.0.0/16", "gateway": "10.10.0.254"}]}]})");
  auto p = plan_core(d, a);
  FakeKernel k(a);
  // The kernel refuses the MTU and the rename of eth4.
  k.refuse = [](const Op& op) -> std::optional<KernelError> {
    if (std::holds_alternative<LinkSetMtu>(op))
      return KernelError{EINVAL, "mtu greater than device maximum"};
    if (auto* r = std::get_if<LinkRename>(&op); r && r->to == "lan0")
      return KernelError{EBUSY, "busy"};
    return std::nullopt;
  };
  ExecResult r = execute(p, k);
  CHECK_FALSE(r.ok());
  int failed = 0, skipped = 0;
  for (const auto& f : r.failures) (f.skipped ? skipped : failed)++;
  CHECK(failed == 2);
  // lan0 never came to be: its up, address, route and resolv.conf... the
  // ops naming lan0 are skipped, not sent.
  CHECK(skipped == 3);
  // Independent work still ran: uplink0 was renamed, set up and got its address.
  const Link* up = k.state().link("uplink0");
  REQUIRE(up);
  CHECK(up->up);
  CHECK(up->mtu == 1500);
  bool addr = false;
  for (const auto& x : k.state().addrs)
    addr |= x.dev == "uplink0" && x.local == pre("192.0.2.1/24");
  CHECK(addr);
  CHECK(k.state().sysctls.at("net/ipv6/conf/uplink0/accept_ra") == "2");
}

TEST_CASE("plans are values: equal inputs, equal plans") {
  auto d = with_interfaces(
      R"({"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"}]})");
  CHECK(plan(d, two_links()) == plan(d, two_links()));
  CHECK(plan(d, two_links()) != plan(Desired{}, two_links()));
}

TEST_CASE("WireGuard endpoints given as hostnames are resolved when planning") {
  Desired d;
  Diagnostics diags;
  json::Sink s1{kInterfacesFile, &diags};
  d.interfaces = {FileState::ok, *parse_interfaces(R"({"interfaces": [
      {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
      {"name": "wg0", "extra_routes": [{"destination": "0.0.0.0/0"}]}]})",
                                                   s1)};
  json::Sink s2{kWireGuardFile, &diags};
  d.wireguard = {FileState::ok, *parse_wireguard(R"({"interfaces": [{"name": "wg0",
      "private_key": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "port": 51820,
      "peers": [{"public_key": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", "endpoint": "vpn.example.org:51820",
                 "allowed_ips": ["0.0.0.0/0"]},
                {"public_key": "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=", "endpoint": "nowhere.invalid:51820",
                 "allowed_ips": ["10.9.0.0/16"]}]}]})",
                                                 s2)};
  d.dhcp4 = {FileState::ok, {ip("203.0.113.62"), 25, ip("203.0.113.1"), {}}};
  resolve_endpoints(
      d,
      [](const std::string& host) -> std::optional<IpAddr> {
        if (host == "vpn.example.org") return ip("192.0.2.55");
        return std::nullopt;
      },
      diags);
  CHECK(diags.size() == 1);
  CHECK(diags[0].str() ==
        R"(warning: wireguard.json: wg0: endpoint host "nowhere.invalid" does not resolve)");
  Actual a = two_links();
  std::string text = to_text(plan_core(d, a));
  CHECK(text.find("endpoint 192.0.2.55:51820") != std::string::npos);  // the plan shows the address
  CHECK(text.find("+ route 192.0.2.55 via 203.0.113.1 dev uplink0 proto dhcp src 203.0.113.62") !=
        std::string::npos);
  CHECK(text.find("+ route default dev wg0") != std::string::npos);
  CHECK(text.find("+ route default via 203.0.113.1") == std::string::npos);
}

TEST_CASE("a WireGuard entry named like an existing link of another kind is not applied to it") {
  Desired d;
  Diagnostics diags;
  json::Sink s{kWireGuardFile, &diags};
  d.wireguard = {FileState::ok, *parse_wireguard(R"({"interfaces": [{"name": "eth4",
      "private_key": "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "port": 51820, "peers": []}]})",
                                                 s)};
  Plan p = plan_core(d, two_links());  // eth4 is a veth
  for (const auto& op : p.ops)         // neither created nor set up as WireGuard
    CHECK(to_text(op).find("eth4") == std::string::npos);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0] ==
        "wireguard.json: eth4 is a veth link, not a WireGuard device; its WireGuard settings are "
        "not applied (rename or remove that link, or the entry)");
  // The same entry on a WireGuard device of that name is applied.
  Actual a = two_links();
  a.links[1].kind = "wireguard";
  Plan q = plan_core(d, a);
  CHECK(q.warnings.empty());
  CHECK(to_text(q).find("wireguard eth4") != std::string::npos);
}

namespace {

using test::fresh_system;

bool is_route_on(const Op& op, const char* dev) {
  auto* r = std::get_if<RouteReplace>(&op);
  return r && r->route.dev == dev;
}

}  // namespace

TEST_CASE("a link set down under the plan: the reconcile reads the state again and converges") {
  FakeKernel k(fresh_system());
  // Another program sets uplink0 down after netkeep set it up, just before
  // its first route: the kernel refuses the route (ENETDOWN).
  int raced = 0;
  k.refuse = [&](const Op& op) -> std::optional<KernelError> {
    if (!is_route_on(op, "uplink0") || raced++) return std::nullopt;
    for (Link& l : k.state().links)
      if (l.name == "uplink0") l.up = false;
    return KernelError{ENETDOWN, "Network is down (Device for nexthop is not up)"};
  };
  Reconcile rc = commit(prepare(NETKEEP_TESTDATA "/fresh-system/config", k), k, k);
  CHECK(rc.result.ok());
  CHECK(k.snapshots() == 2);
  REQUIRE(rc.replanned.size() == 1);
  CHECK(rc.replanned[0].find("a link went down") != std::string::npos);
  CHECK(rc.replanned[0].find("route 203.0.113.1 dev uplink0") != std::string::npos);
  // The second plan sets uplink0 up again and writes its routes; what the
  // first applied is still reported.
  CHECK(to_text(rc.plan.ops.front()) == "~ link uplink0: up");
  CHECK(rc.applied_before.size() > 10);
  CHECK(rc.changed());
  CHECK(k.state().link("uplink0")->up);
  Diagnostics d;
  CHECK(plan(load_config(NETKEEP_TESTDATA "/fresh-system/config", d), k.state()).empty());
}

TEST_CASE("a link that stays down is planned again once, not more") {
  FakeKernel k(fresh_system());
  k.refuse = [&](const Op& op) -> std::optional<KernelError> {
    if (is_route_on(op, "uplink0")) return KernelError{ENETDOWN, "Network is down"};
    return std::nullopt;
  };
  Reconcile rc = commit(prepare(NETKEEP_TESTDATA "/fresh-system/config", k), k, k);
  CHECK_FALSE(rc.result.ok());
  CHECK(k.snapshots() == 2);
  CHECK(rc.replanned.size() == 1);
  // Other errors are not a reason to read the state again.
  FakeKernel k2(fresh_system());
  k2.refuse = [&](const Op& op) -> std::optional<KernelError> {
    if (is_route_on(op, "uplink0")) return KernelError{EINVAL, "Invalid argument"};
    return std::nullopt;
  };
  Reconcile rc2 = commit(prepare(NETKEEP_TESTDATA "/fresh-system/config", k2), k2, k2);
  CHECK_FALSE(rc2.result.ok());
  CHECK(k2.snapshots() == 1);
  CHECK(rc2.replanned.empty());
}

TEST_CASE("merge_walk hands over each key's items from both lists together, in key order") {
  struct Item {
    int key;
    char tag;
  };
  const std::vector<Item> have = {{3, 'a'}, {1, 'b'}, {3, 'c'}, {5, 'd'}};
  const std::vector<Item> want = {{2, 'x'}, {3, 'y'}, {1, 'z'}};
  std::string walk;
  merge_walk(
      have, want, [](const Item& i) { return i.key; },
      [&](auto hs, auto ws) {
        walk += "[";
        for (const Item* h : hs) walk += h->tag;
        walk += "|";
        for (const Item* w : ws) walk += w->tag;
        walk += "]";
      });
  CHECK(walk == "[b|z][|x][ac|y][d|]");  // equal keys in their list's order
  walk.clear();
  merge_walk(
      std::vector<Item>{}, want, [](const Item& i) { return i.key; },
      [&](auto hs, auto ws) { walk += std::to_string(hs.size()) + std::to_string(ws.size()); });
  CHECK(walk == "010101");
}
