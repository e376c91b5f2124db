#include "reconciler/doctor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "model/json_out.hpp"
#include "model/nft_rule_facts.hpp"
#include "model/ownership.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/plan_protect.hpp"
#include "reconciler/plan_print.hpp"

namespace netkeep {

namespace {

constexpr uint32_t kHookPrerouting = 0, kHookInput = 1, kHookForward = 2;
constexpr uint32_t kPolicyDrop = 0;

std::string chain_name(const ForeignChain& c) {
  return fmt::format("{} {} chain {}", family_name(c.family), c.table, c.name);
}

// netkeep's own base chain on a hook (ip family), from its ruleset.
std::optional<BaseChain> own_base(uint32_t hook, const char* type) {
  static const NftState ruleset = desired_ruleset(NftInputs{});
  for (const auto& c : ruleset.chains)
    if (c.family == NftFamily::ip && c.base && c.base->hook == hook && c.base->type == type)
      return c.base;
  return std::nullopt;
}

bool same_family_as_ipv4(NftFamily f) {
  return f == NftFamily::ip || f == NftFamily::inet;
}

// The rules a packet entering `start` may meet: its own and, through jumps
// and gotos, those of the chains of its table (each chain once).
std::vector<const RuleBody*> reachable(const ForeignChain& start,
                                       const std::vector<ForeignChain>& chains) {
  std::vector<const RuleBody*> out;
  std::set<std::string> seen{start.name};
  std::vector<const ForeignChain*> todo{&start};
  while (!todo.empty()) {
    const ForeignChain* c = todo.back();
    todo.pop_back();
    for (const auto& r : c->rules) {
      out.push_back(&r);
      const std::string target = rule_facts(r).jump;
      if (target.empty() || !seen.insert(target).second) continue;
      for (const auto& x : chains)
        if (x.family == c->family && x.table == c->table && x.name == target) todo.push_back(&x);
    }
  }
  return out;
}

void foreign_chains(const Desired& d, const Survey& s, std::vector<Finding>& out) {
  const auto own_input = own_base(kHookInput, "filter");
  const auto own_prerouting = own_base(kHookPrerouting, "nat");
  for (const auto& c : s.chains) {
    if (!c.base || !same_family_as_ipv4(c.family)) continue;
    const BaseChain& b = *c.base;
    if (b.type == "filter" && b.hook == kHookForward && b.policy == kPolicyDrop) {
      out.push_back({Severity::error,
                     fmt::format("{}: policy drop on the forward hook (priority {}): forwarded "
                                 "connections, netkeep's port forwardings among them, are dropped "
                                 "unless a rule there accepts them (docker sets this policy)",
                                 chain_name(c), b.priority),
                     "accept them there (with docker: iptables -I DOCKER-USER -i uplink0 -o "
                     "lan0 -j ACCEPT, and the way back), or keep that program off the forward "
                     "hook (docker: \"iptables\": false)"});
    }
    if (b.type == "filter" && b.hook == kHookInput && b.policy == kPolicyDrop && own_input &&
        b.priority <= own_input->priority) {
      out.push_back({Severity::warning,
                     fmt::format("{}: policy drop on the input hook (priority {}, netkeep's "
                                 "input chain {}): traffic to the router itself is dropped "
                                 "unless accepted there, and netkeep's inputc counter misses it",
                                 chain_name(c), b.priority, own_input->priority),
                     "make sure it accepts what the router must answer (DNS, DHCP, SSH)"});
    }
    if (b.type == "nat" && b.hook == kHookPrerouting && own_prerouting && d.portforwardings.ok()) {
      const bool first = b.priority <= own_prerouting->priority;
      std::set<std::string> said;
      for (const RuleBody* r : reachable(c, s.chains)) {
        const RuleFacts f = rule_facts(*r);
        if (!f.dnat && !f.redirect) continue;
        for (const auto& fw : d.portforwardings.value.forwardings) {
          if (f.l4proto && *f.l4proto != fw.proto) continue;
          const uint16_t lo = f.dport_first.value_or(1), hi = f.dport_last.value_or(65535);
          if (hi < fw.port.first || lo > fw.port.last) continue;
          const std::string what = fmt::format(
              "{} {} {}: netkeep forwards it to {}:{}, and {} it too{}{}", chain_name(c),
              fw.proto == 6 ? "tcp" : "udp", fw.port.str(), fw.dest_addr.str(), fw.dest_port.str(),
              f.redirect ? "redirects" : "DNATs", f.dport_first ? "" : " (every port)",
              b.priority == own_prerouting->priority
                  ? fmt::format(", at netkeep's own priority {}: whichever chain was made "
                                "first runs first",
                                b.priority)
              : first ? fmt::format(", first (priority {} before netkeep's {})", b.priority,
                                    own_prerouting->priority)
                      : fmt::format(" (priority {}, after netkeep's {}: those rules never see "
                                    "these connections)",
                                    b.priority, own_prerouting->priority));
          if (!said.insert(what).second) continue;
          out.push_back({first ? Severity::error : Severity::warning, what,
                         "forward each port in one place: remove it from portforwardings.json "
                         "or from that program"});
        }
      }
    }
  }
}

void sysctls_and_plan(const Plan& pending, std::vector<Finding>& out) {
  size_t others = 0;
  std::string example;
  for (const auto& op : pending.ops) {
    const auto* s = std::get_if<SysctlSet>(&op);
    const bool router_wide = s && std::any_of(std::begin(kRouterSysctls), std::end(kRouterSysctls),
                                              [&](const auto& k) { return s->key == k.first; });
    if (router_wide) {
      out.push_back({Severity::warning,
                     fmt::format("{} is {}; netkeep sets {}: someone changed it back since the "
                                 "last reconcile",
                                 sysctl_dotted(s->key), s->from.empty() ? "unset" : s->from, s->to),
                     "netkeep apply (netkeep run repairs it itself); find the program that "
                     "changes it (sysctl.d, another network manager)"});
      continue;
    }
    if (others++ == 0) example = to_text(op);
  }
  if (others)
    out.push_back({Severity::warning,
                   fmt::format("{} change{} pending between the config and the kernel (the "
                               "first: {})",
                               others, others == 1 ? "" : "s", example),
                   "netkeep plan shows them, netkeep apply makes them; if netkeep run should "
                   "have, is it running?"});
}

std::string sysctl(const Survey& s, const std::string& key) {
  auto it = s.sysctls.find(key);
  return it == s.sysctls.end() ? "" : it->second;
}

void kernel_settings(const Actual& a, const Survey& s, std::vector<Finding>& out) {
  // rp_filter: the larger of all and the link's applies (1 strict, 2 loose).
  const std::string all = sysctl(s, "net/ipv4/conf/all/rp_filter"),
                    up = sysctl(s, "net/ipv4/conf/uplink0/rp_filter");
  const bool strict = std::max(all, up) == "1";
  int defaults = 0;
  std::string elsewhere;
  for (const auto& r : a.routes)
    if (r.family() == Family::v4 && r.dst.len == 0) {
      defaults++;
      if (r.dev != "uplink0") elsewhere = r.dev;
    }
  if (strict && a.link("uplink0") && (defaults > 1 || !elsewhere.empty()))
    out.push_back({Severity::warning,
                   fmt::format("rp_filter is strict on uplink0 (all {}, uplink0 {}) and routes "
                               "are asymmetric ({} IPv4 default routes{}): replies that arrive "
                               "on uplink0 but would leave by another link are dropped",
                               all.empty() ? "?" : all, up.empty() ? "?" : up, defaults,
                               elsewhere.empty() ? "" : ", one via " + elsewhere),
                   "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.uplink0.rp_filter=2 "
                   "(loose), and the same in /etc/sysctl.d"});
  const Link* lan = a.link("lan0");
  if (lan && lan->kind == "bridge" && sysctl(s, "net/bridge/bridge-nf-call-iptables") == "1")
    out.push_back({Severity::warning,
                   "lan0 is a bridge and br_netfilter passes bridged traffic through the ip "
                   "hooks (net.bridge.bridge-nf-call-iptables = 1): traffic between LAN hosts "
                   "meets the forward chains, and a drop there cuts the LAN in two",
                   "sysctl -w net.bridge.bridge-nf-call-iptables=0, or unload br_netfilter if "
                   "nothing needs it"});
}

void destinations(const Desired& d, const Actual& a, std::vector<Finding>& out) {
  if (!d.portforwardings.ok()) return;
  std::set<std::string> said;
  for (const auto& fw : d.portforwardings.value.forwardings) {
    const bool connected = std::any_of(a.addrs.begin(), a.addrs.end(), [&](const Address& ad) {
      return ad.local.addr.family == fw.dest_addr.family &&
             Prefix{ad.local.addr, ad.local.len}.network() ==
                 Prefix{fw.dest_addr, ad.local.len}.network();
    });
    if (connected || !said.insert(fw.dest_addr.str()).second) continue;
    out.push_back({Severity::warning,
                   fmt::format("forwarding {} {} -> {}: {} is on no network the router is "
                               "connected to",
                               fw.proto == 6 ? "tcp" : "udp", fw.port.str(), fw.dest_addr.str(),
                               fw.dest_addr.str()),
                   "check dest_addr in portforwardings.json, or the route to it"});
  }
}

// The uplink's leases (SPEC §2): one past its time (the client died, or
// the clock stepped), none at all while uplink0 has no address, and a
// client that configures uplink0 itself beside netkeep.
void leases(const Desired& d, const Actual& a, int64_t now, std::vector<Finding>& out) {
  auto past = [&](const char* file, const auto& f, const std::string& what) {
    const Timestamp& t = f.value.valid_until;
    if (!f.ok() || f.value.ended || t.kind != Timestamp::Kind::time || t.unix_seconds >= now) return;
    out.push_back({Severity::warning,
                   fmt::format("{}: the lease of {} was valid until {}, {} s ago, and no DHCP "
                               "client renewed or ended it",
                               file, what, format_rfc3339(t.unix_seconds), now - t.unix_seconds),
                   "check the DHCP client (systemctl status netkeep-dhcpcd); netkeep keeps the "
                   "lease until the client reports it ended, as router7 did"});
  };
  past(kDhcp4File, d.dhcp4, d.dhcp4.value.client_ip.str());
  std::string prefixes;
  for (const auto& p : d.dhcp6.value.prefixes) prefixes += (prefixes.empty() ? "" : " ") + p.str();
  past(kDhcp6File, d.dhcp6, prefixes);

  const bool uplink = std::any_of(a.links.begin(), a.links.end(),
                                  [](const Link& l) { return l.name == "uplink0"; });
  const bool addressed = std::any_of(a.addrs.begin(), a.addrs.end(), [](const Address& ad) {
    return ad.dev == "uplink0" && ad.local.addr.is_v4();
  });
  if (uplink && !addressed && d.dhcp4.state == FileState::missing)
    out.push_back({Severity::warning,
                   fmt::format("uplink0 has no IPv4 address and there is no {}: no DHCP client "
                               "hands netkeep a lease",
                               kDhcp4File),
                   "run a DHCP client with netkeep's script: systemctl enable --now "
                   "netkeep-dhcpcd (see netkeep lease --help)"});
  // netkeep's DHCP routes have metric 0; dhcpcd's own have 1000 + ifindex.
  for (const Route& r : a.routes)
    if (r.dev == "uplink0" && r.proto == kRouteProtoDhcp && r.priority != 0) {
      out.push_back({Severity::warning,
                     fmt::format("a DHCP client configures uplink0 itself beside netkeep: route "
                                 "{} proto dhcp metric {}",
                                 r.dst.str(), r.priority),
                     "run dhcpcd with noconfigure and netkeep's script (netkeep-dhcpcd.service), "
                     "so that netkeep is the one writer of uplink0's addresses and routes"});
      break;
    }
}

// LAN protection (firewall.json): lan0 on a global IPv6 prefix (the
// delegated one, on which LAN hosts take addresses by SLAAC) with nothing
// filtering what comes in from the uplink. (The hosts' own addresses are
// not read: a prefix on lan0 is where they come from.)
void unprotected_lan(const Desired& d, const Actual& a, std::vector<Finding>& out) {
  if (d.firewall.state == FileState::invalid) return;  // frozen: reported as an error already
  if (d.firewall.ok() && d.firewall.value.protect_lan) return;
  for (const Address& ad : a.addrs) {
    const uint8_t first = ad.local.addr.bytes[0];
    if (ad.dev != "lan0" || ad.local.addr.is_v4() || (first & 0xe0) != 0x20) continue;  // 2000::/3
    out.push_back(
        {Severity::warning,
         fmt::format(
             "lan0 is on the global prefix {}: every LAN host's IPv6 address on it is "
             "reachable from the internet, and {}",
             ad.local.network().str(),
             d.firewall.ok() ? "firewall.json has protect_lan false" : "there is no firewall.json"),
         "protect the LAN: echo '{\"protect_lan\": true, \"protect_router\": true}' > "
         "firewall.json, and open single hosts with \"pinholes\" (see netkeep(8), FILES)"});
    return;
  }
}

const char* l4_name(uint8_t proto) {
  return proto == 6 ? "tcp" : "udp";
}

// A pinhole whose host does not answer neighbour discovery on lan0: what it
// lets in reaches nobody (a mistyped address, or an interface identifier
// the host does not use; SLAAC privacy addresses change). Only what the
// kernel knows is judged: a host the router never tried to reach is not.
void unanswered_pinholes(const Desired& d, const Survey& s, std::vector<Finding>& out) {
  if (!d.firewall.ok() || !d.firewall.value.protect_lan || s.unanswered.empty()) return;
  const std::vector<Prefix> delegated = delegated_prefixes(d);
  std::set<IpAddr> said;
  for (const Pinhole& p : d.firewall.value.pinholes)
    for (const IpAddr& host : pinhole_hosts(p, delegated)) {
      if (std::find(s.unanswered.begin(), s.unanswered.end(), host) == s.unanswered.end() ||
          !said.insert(host).second)
        continue;
      out.push_back(
          {Severity::warning,
           fmt::format("firewall.json: pinholes[{}] ({} {} -> {}): {} does not answer neighbour "
                       "discovery on lan0, so what the pinhole lets in reaches nobody",
                       p.entry, l4_name(p.proto), p.port.str(),
                       p.dest_iid ? p.dest_iid->str() : p.dest_addr->str(), host.str()),
           p.dest_iid ? "check the host's interface identifier (it must keep it: a SLAAC privacy "
                        "address changes), or remove the pinhole"
                      : "check the host's address, or remove the pinhole"});
    }
}

// Whether another program's prerouting nat chain of `v6`'s family DNATs
// `proto` `port`: then the connection is forwarded, and LAN protection
// lets it through (`ct status dnat`) instead of the router's input hook.
bool dnat_by_others(const Survey& s, bool v6, uint8_t proto, uint16_t port) {
  for (const auto& c : s.chains) {
    const bool family =
        c.family == NftFamily::inet || c.family == (v6 ? NftFamily::ip6 : NftFamily::ip);
    if (!family || !c.base || c.base->type != "nat" || c.base->hook != kHookPrerouting) continue;
    for (const RuleBody* r : reachable(c, s.chains)) {
      const RuleFacts f = rule_facts(*r);
      if (f.dnat && (!f.l4proto || *f.l4proto == proto) && f.dport_first.value_or(1) <= port &&
          port <= f.dport_last.value_or(65535))
        return true;
    }
  }
  return false;
}

// A port docker publishes through its userland proxy (docker-proxy
// listening on the router's addresses: IPv6, or any family without
// docker's DNAT rules) that protect_router closes to the internet.
void blocked_by_protection(const Desired& d, const Actual& a, const Survey& s,
                           std::vector<Finding>& out) {
  if (!d.firewall.ok() || !d.firewall.value.protect_router) return;
  std::set<std::string> said;
  for (const Listening& l : s.listening) {
    if (l.program != "docker-proxy") continue;
    const bool every = l.addr == IpAddr{l.addr.family, {}};
    const bool uplink = std::any_of(a.addrs.begin(), a.addrs.end(), [&](const Address& x) {
      return x.dev == "uplink0" && x.local.addr == l.addr;
    });
    if (!every && !uplink) continue;
    const auto& open = d.firewall.value.open;
    const bool opened = std::any_of(open.begin(), open.end(), [&](const OpenPort& o) {
      return o.proto == l.proto && o.port.first <= l.port && l.port <= o.port.last;
    });
    const bool v6 = !l.addr.is_v4();
    if (opened || dnat_by_others(s, v6, l.proto, l.port)) continue;
    const std::string what = fmt::format(
        "firewall.json's protect_router closes {} {} ({}) to the internet, where docker-proxy "
        "listens for a port docker publishes",
        l4_name(l.proto), l.port, v6 ? "IPv6" : "IPv4");
    if (!said.insert(what).second) continue;
    out.push_back({Severity::warning, what,
                   fmt::format("to publish it, add {{\"proto\": \"{}\", \"port\": \"{}\"}} to "
                               "firewall.json's \"open\"; to keep it on the LAN, publish it on "
                               "lan0's address (docker run -p ADDR:{}:...)",
                               l4_name(l.proto), l.port, l.port)});
  }
}

}  // namespace

std::vector<Finding> diagnose(const Desired& desired, const Actual& actual, const Plan& pending,
                              const Survey& survey) {
  std::vector<Finding> out;
  foreign_chains(desired, survey, out);
  sysctls_and_plan(pending, out);
  kernel_settings(actual, survey, out);
  destinations(desired, actual, out);
  unprotected_lan(desired, actual, out);
  unanswered_pinholes(desired, survey, out);
  blocked_by_protection(desired, actual, survey, out);
  if (survey.now) leases(desired, actual, *survey.now, out);
  // Errors first, then in the order found.
  std::stable_sort(out.begin(), out.end(), [](const Finding& x, const Finding& y) {
    return x.severity == Severity::error && y.severity != Severity::error;
  });
  return out;
}

std::string to_text(const Finding& f) {
  return fmt::format("{}: {}\n  fix: {}", f.severity == Severity::error ? "error" : "warning",
                     f.what, f.fix);
}

std::string to_json(const std::vector<Finding>& findings) {
  std::string out = "{\"findings\": [";
  for (size_t i = 0; i < findings.size(); i++)
    out +=
        fmt::format("{}{{\"severity\": \"{}\", \"what\": {}, \"fix\": {}}}", i ? ",\n  " : "\n  ",
                    findings[i].severity == Severity::error ? "error" : "warning",
                    json::quote(findings[i].what), json::quote(findings[i].fix));
  return out + (findings.empty() ? "]}\n" : "\n]}\n");
}

}  // namespace netkeep
