// The planner: links → addresses → routes → sysctls → nftables → files (SPEC §5).
// Within each kind, removals come before additions: deleting an IPv4
// primary address also deletes the secondaries of its subnet, so a new
// address of the same subnet must be added after the stale one is gone.
#include "reconciler/plan.hpp"

#include <algorithm>
#include <tuple>

#include "model/ownership.hpp"
#include "reconciler/flows.hpp"
#include "reconciler/merge_walk.hpp"

namespace netkeep {

namespace {

Address make_addr(const std::string& dev, const Prefix& p, Origin origin) {
  Address a{dev, p, std::nullopt, addr_proto(origin)};
  // As `ip addr add … brd +` does.
  if (p.addr.is_v4() && p.len < 31) a.broadcast = p.broadcast();
  return a;
}

// A lease file that declares a lease in force. An ended one (the client
// reported it expired, released or refused) still governs: what it leased
// is swept (RFC 2131 §4.4.5: the client must stop using the address).
bool leased(const ConfigFile<Dhcp4Lease>& f) { return f.ok() && !f.value.ended; }
bool leased(const ConfigFile<Dhcp6Lease>& f) { return f.ok() && !f.value.ended; }

std::vector<Address> desired_addrs(const Desired& d, const LinkView& v) {
  std::vector<Address> out;
  for (const InterfaceSpec* s : v.matched) {
    if (s->addr) out.push_back(make_addr(s->name, *s->addr, Origin::interfaces));
    for (const auto& p : s->extra_addrs) out.push_back(make_addr(s->name, p, Origin::interfaces));
  }
  if (leased(d.dhcp4) && v.exists("uplink0")) {
    const auto& l = d.dhcp4.value;
    out.push_back(make_addr("uplink0", {l.client_ip, l.prefix_len}, Origin::dhcp4));
  }
  if (leased(d.dhcp6) && v.exists("lan0")) {
    for (const auto& p : d.dhcp6.value.prefixes) {
      Prefix a{p.addr, 64};
      a.addr.bytes[15] = 1;  // <prefix>::1/64, the first /64 of the delegated prefix
      out.push_back(make_addr("lan0", a, Origin::dhcp6));
    }
  }
  return out;
}

// Some wg* interface in interfaces.json routes 0.0.0.0/0: the default
// route is WireGuard's, not the DHCP router's.
bool default_via_wireguard(const Desired& d) {
  if (!d.interfaces.ok()) return false;
  for (const auto& s : d.interfaces.value.interfaces)
    if (s.name.starts_with("wg"))
      for (const auto& r : s.extra_routes)
        if (r.destination.addr.is_v4() && r.destination.len == 0) return true;
  return false;
}

bool wireguard_shape(const Actual& a) {
  bool dhcp_default = false, peer_route = false;
  for (const Route& r : a.routes) {
    if (r.origin() != Origin::dhcp4 || r.family() != Family::v4) continue;
    dhcp_default |= r.dst.len == 0;
    peer_route |= r.dst.len == 32 && r.gateway.has_value();
  }
  return peer_route && !dhcp_default;
}

std::vector<Route> desired_routes(const Desired& d, const Actual& actual, const LinkView& v) {
  std::vector<Route> out;
  for (const InterfaceSpec* s : v.matched) {
    for (const auto& r : s->extra_routes) {
      Family f = r.destination.addr.family;
      // The kernel reports every IPv6 route with scope universe.
      uint8_t scope = r.gateway || f == Family::v6 ? kScopeUniverse : kScopeLink;
      out.push_back({r.destination, r.gateway, s->name, route_proto(Origin::interfaces), scope,
                     std::nullopt, default_metric(f)});
    }
  }
  if (leased(d.dhcp4) && v.exists("uplink0")) {
    const auto& l = d.dhcp4.value;
    auto dhcp_route = [&](Prefix dst, std::optional<IpAddr> gateway, uint8_t scope) {
      out.push_back({dst, gateway, "uplink0", route_proto(Origin::dhcp4), scope, l.client_ip, 0});
    };
    // The router may be outside the leased subnet; the /32 makes it reachable.
    dhcp_route({l.router, 32}, std::nullopt, kScopeLink);
    // Whether the default route is the DHCP router's or WireGuard's is
    // interfaces.json's to say. While that file is invalid the choice stays
    // as the kernel shows it: WireGuard's shape (peer routes via the
    // router, no DHCP default route) is kept as it is; otherwise the
    // default route follows the lease.
    const bool known = d.interfaces.governs();
    const bool dhcp_default = known ? !default_via_wireguard(d) : !wireguard_shape(actual);
    if (dhcp_default) {
      dhcp_route({IpAddr::v4(0), 0}, l.router, kScopeUniverse);
    } else if (known && d.wireguard.ok()) {
      // The default route goes through WireGuard; its peers stay reachable
      // through the DHCP router.
      for (const auto& w : d.wireguard.value.interfaces)
        for (const auto& p : w.peers)
          if (p.endpoint && p.endpoint->addr && p.endpoint->addr->is_v4() &&
              *p.endpoint->addr != l.router)
            dhcp_route({*p.endpoint->addr, 32}, l.router, kScopeUniverse);
    }
  }
  return out;
}

// An address's identity: its link and local prefix.
auto addr_key(const Address& a) {
  return std::tie(a.dev, a.local);
}

void plan_addrs(const Desired& d, const Actual& actual, const LinkView& v, std::vector<Op>& ops) {
  auto want = desired_addrs(d, v);
  std::vector<Address> have = actual.addrs;
  for (auto& a : have) a.dev = v.after(a.dev);

  // Which addresses the kernel has are wanted, and which wanted ones it
  // lacks or holds with another broadcast address (its first with the key).
  std::vector<char> wanted(have.size()), add(want.size());
  merge_walk(have, want, addr_key, [&](auto hs, auto ws) {
    for (const Address* h : hs) wanted[h - have.data()] = !ws.empty();
    for (const Address* w : ws)
      add[w - want.data()] = hs.empty() || hs.front()->broadcast != w->broadcast;
  });
  std::vector<Op> dels, adds;
  for (size_t i = 0; i < have.size(); i++) {
    if (wanted[i]) continue;
    const Address& a = have[i];
    // Sweep only what a valid file governs and netkeep owns (SPEC §4).
    const Origin o = a.origin();
    if (o == Origin::interfaces && d.interfaces.governs())
      dels.push_back(AddrDel{a, "no longer in interfaces.json"});
    else if (o == Origin::dhcp6 && d.dhcp6.ok())
      dels.push_back(AddrDel{a, d.dhcp6.value.ended ? "DHCPv6 lease ended" : "prefix no longer leased"});
    else if (o == Origin::dhcp4 && d.dhcp4.ok() && a.local.addr.is_v4())
      dels.push_back(AddrDel{a, d.dhcp4.value.ended ? "DHCPv4 lease ended" : "stale DHCPv4 address"});
  }
  for (size_t j = 0; j < want.size(); j++)
    if (add[j]) adds.push_back(AddrAdd{want[j]});
  ops.insert(ops.end(), dels.begin(), dels.end());
  ops.insert(ops.end(), adds.begin(), adds.end());
}

// The kernel's identity of a route in one table: destination and metric.
auto route_key(const Route& r) {
  return std::tie(r.dst, r.priority);
}

void plan_routes(const Desired& d, const Actual& actual, const LinkView& v, std::vector<Op>& ops) {
  auto want = desired_routes(d, actual, v);
  std::vector<Route> have = actual.routes;
  for (auto& r : have) r.dev = v.after(r.dev);

  // With an invalid wireguard.json the peer endpoint routes are unknown, and
  // with an invalid interfaces.json also whether the default route is the
  // DHCP router's: keep them.
  const bool endpoints_frozen =
      (default_via_wireguard(d) && !d.wireguard.governs()) || !d.interfaces.governs();
  // A route with a desired route's identity is overwritten by its replace;
  // a desired route the kernel holds exactly needs none.
  std::vector<char> claimed(have.size()), replace(want.size());
  merge_walk(have, want, route_key, [&](auto hs, auto ws) {
    for (const Route* h : hs) claimed[h - have.data()] = !ws.empty();
    for (const Route* w : ws)
      replace[w - want.data()] =
          std::none_of(hs.begin(), hs.end(), [&](const Route* h) { return *h == *w; });
  });
  std::vector<Op> dels, adds;
  for (size_t i = 0; i < have.size(); i++) {
    if (claimed[i]) continue;
    const Route& r = have[i];
    const Origin o = r.origin();
    if (o == Origin::interfaces && d.interfaces.governs())
      dels.push_back(RouteDel{r, "no longer in interfaces.json"});
    else if (o == Origin::dhcp4 && d.dhcp4.ok() && r.dev == "uplink0" && r.family() == Family::v4 &&
             !(endpoints_frozen && r.dst.len == 32 && r.gateway))
      dels.push_back(RouteDel{r, d.dhcp4.value.ended ? "DHCPv4 lease ended" : "stale DHCPv4 route"});
  }
  for (size_t j = 0; j < want.size(); j++)
    if (replace[j]) adds.push_back(RouteReplace{want[j]});
  ops.insert(ops.end(), dels.begin(), dels.end());
  ops.insert(ops.end(), adds.begin(), adds.end());
}

void plan_sysctls(const Desired& d, const Actual& actual, const LinkView& v, std::vector<Op>& ops) {
  std::vector<Op> sets;
  // `read_as` is the key under the link's current name, `key` under its final one.
  auto want = [&](const std::string& read_as, const std::string& key, const std::string& value) {
    auto it = actual.sysctls.find(read_as);
    std::string from = it == actual.sysctls.end() ? "" : it->second;
    if (from != value) sets.push_back(SysctlSet{key, from, value});
  };
  for (const auto& [key, value] : kRouterSysctls) want(key, key, value);
  std::string uplink = v.uplink();
  // Which link is the uplink follows interfaces.json's renames: unknown
  // while that file is invalid, so its accept_ra stays as it is.
  if (v.exists(uplink) && d.interfaces.governs()) {
    std::string now_named = v.before(uplink);
    // Forwarding makes the kernel ignore router advertisements unless accept_ra is 2.
    want("net/ipv6/conf/" + now_named + "/accept_ra", "net/ipv6/conf/" + uplink + "/accept_ra",
         "2");
  }
  std::sort(sets.begin(), sets.end(), [](const Op& a, const Op& b) {
    return std::get<SysctlSet>(a).key < std::get<SysctlSet>(b).key;
  });
  ops.insert(ops.end(), sets.begin(), sets.end());
}

void plan_files(const Desired& d, const Actual& actual, const LinkView& v, std::vector<Op>& ops) {
  if (!d.interfaces.ok()) return;
  for (const InterfaceSpec* s : v.matched) {
    if (s->name != "lan0" || !s->addr) continue;
    const std::string path = kResolvConf;
    auto it = actual.files.find(path);
    FileKind kind = it == actual.files.end() ? FileKind::missing : it->second.kind;
    // Only a missing file or a symlink: a regular file belongs to someone
    // else (e.g. tailscale), and netkeep never overwrites it.
    if (kind == FileKind::missing || kind == FileKind::symlink)
      ops.push_back(FileWrite{path, "nameserver " + s->addr->addr.str() + "\n", kind});
  }
}

}  // namespace

Plan plan(const Desired& desired, const Actual& actual, const PinholeKeys* pinholes) {
  Plan p;
  LinkView view = plan_links(desired, actual, p.ops);
  plan_fec(desired, actual, view, p);
  plan_wireguard(desired, actual, view, p);
  plan_addrs(desired, actual, view, p.ops);
  plan_routes(desired, actual, view, p.ops);
  plan_sysctls(desired, actual, view, p.ops);
  const size_t nft_from = p.ops.size();
  plan_nft(desired, actual, view, p.ops, p.warnings, pinholes);
  plan_flows(p.ops, nft_from,
             desired.portforwardings.ok() && desired.portforwardings.value.keep_tcp);
  plan_files(desired, actual, view, p.ops);
  return p;
}

}  // namespace netkeep
