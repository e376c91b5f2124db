#include "model/actual_json.hpp"
#include "model/overload.hpp"
#include "reconciler/plan_print.hpp"

#include <fmt/format.h>

#include "model/json_out.hpp"
#include "model/nft_text.hpp"
#include "model/ownership.hpp"
#include "reconciler/nft_protect.hpp"

namespace netkeep {

using json::quote;

namespace {

std::string proto_name(uint8_t p) {
  switch (p) {
    case kRouteProtoKernel:
      return "kernel";
    case kRouteProtoBoot:
      return "boot";
    case 4:
      return "static";
    case kRouteProtoDhcp:
      return "dhcp";
    case kRouteProtoNetkeep:
      return "netkeep";
  }
  return std::to_string(p);
}

std::string why(const std::string& w) {
  return w.empty() ? "" : "  (" + w + ")";
}

const char* hook_name(uint32_t hook) {
  static const char* names[] = {"prerouting", "input", "forward", "output", "postrouting"};
  return hook < 5 ? names[hook] : "?";
}

std::string chain_spec(const std::optional<BaseChain>& b) {
  if (!b) return "";
  return fmt::format(" {{ type {} hook {} priority {}; policy {}; }}", b->type, hook_name(b->hook),
                     b->priority,
                     b->policy == 1   ? "accept"
                     : b->policy == 0 ? "drop"
                                      : "?");
}

const char* place_name(RulePlace p) {
  switch (p) {
    case RulePlace::append:
      return "append";
    case RulePlace::before_handle:
      return "before_handle";
  }
  return "?";
}

std::string elem_ports(const NftMapElem& e) {
  return PortRange{e.first, e.last}.str();
}

std::string elem_addr(const NftMapElem& e) {
  return IpAddr::from_bytes(e.addr.data(), 4)->str();
}

std::string elem_dest(const NftMapElem& e) {
  return elem_addr(e) + ":" + PortRange{e.to_first, e.to_last}.str();
}

const char* l4_name(uint8_t proto) {
  return proto == 17 ? "udp" : proto == 6 ? "tcp" : "?";
}

// {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"[, "was": ...]}
std::string elem_json(NftFamily f, const std::string& table, const std::string& set,
                      const NftMapElem& e) {
  return fmt::format(R"("family": "{}", "table": {}, "set": {}, "port": "{}")", family_name(f),
                     quote(table), quote(set), elem_ports(e));
}

// A protection set's element: in words, and with the set it is in for
// an ip/ip6 set whose words do not say the family (open ports).
std::string key_elem_text(NftFamily f, const std::string& set, const NftKeyElem& e) {
  std::string text = keyset_elem_text(f, set, e);
  if (set != kPinholeSet) text += fmt::format(" ({} {})", family_name(f), set);
  return text;
}

std::string key_elem_json(NftFamily f, const std::string& table, const std::string& set,
                          const NftKeyElem& e) {
  return fmt::format(R"("family": "{}", "table": {}, "set": {}, "element": {})", family_name(f),
                     quote(table), quote(set), quote(keyset_elem_text(f, set, e)));
}

std::string forward_json(uint8_t proto, const NftMapElem& e, const NftMapElem* was) {
  auto fields = [&](const NftMapElem& x) {
    return fmt::format(R"("dest_addr": "{}", "dest_port": "{}")", elem_addr(x),
                       PortRange{x.to_first, x.to_last}.str());
  };
  std::string out =
      fmt::format(R"("proto": "{}", "port": "{}", {})", l4_name(proto), elem_ports(e), fields(e));
  if (was) out += ", \"was\": {" + fields(*was) + "}";
  return out;
}

}  // namespace

std::string route_text(const Route& r) {
  std::string s;
  if (r.dst.is_default())
    s = "default";
  else if (r.dst.len == r.dst.addr.bits())
    s = r.dst.addr.str();  // a host route, printed without /32 as `ip route` does
  else
    s = r.dst.str();
  if (r.gateway) s += " via " + r.gateway->str();
  s += " dev " + r.dev + " proto " + proto_name(r.proto);
  if (r.scope == kScopeLink) s += " scope link";
  if (r.scope == kScopeHost) s += " scope host";
  if (r.prefsrc) s += " src " + r.prefsrc->str();
  if (r.priority != default_metric(r.family())) s += fmt::format(" metric {}", r.priority);
  return s;
}

std::string addr_text(const Address& a) {
  std::string s = a.local.str();
  if (a.broadcast) s += " brd " + a.broadcast->str();
  return s + " dev " + a.dev;
}

std::string to_text(const Op& op) {
  return std::visit(
      Overload{
          [](const BridgeCreate& o) {
            return fmt::format("+ link {} type bridge address {}", o.name, o.mac.str());
          },
          [](const LinkRename& o) {
            return fmt::format("~ link {} ({}): rename -> {}", o.from, o.mac.str(), o.to);
          },
          [](const WgLinkCreate& o) { return fmt::format("+ link {} type wireguard", o.name); },
          [](const WgSetDevice& o) {
            std::string s = fmt::format("~ wireguard {}: set device", o.device.name);
            for (const auto& c : o.changes) s += "\n    " + c;
            return s;
          },
          [](const FecSet& o) {
            return fmt::format("~ link {}: fec {} -> {}", o.dev, o.from, o.to);
          },
          [](const LinkSetMtu& o) {
            return fmt::format("~ link {}: mtu {} -> {}", o.dev, o.from, o.to);
          },
          [](const LinkSetMac& o) {
            return fmt::format("~ link {}: address {} -> {}", o.dev, o.from.str(), o.to.str());
          },
          [](const LinkSetMaster& o) {
            return o.master.empty() ? fmt::format("~ link {}: nomaster", o.dev)
                                    : fmt::format("~ link {}: master {}", o.dev, o.master);
          },
          [](const LinkSetUp& o) { return fmt::format("~ link {}: up", o.dev); },
          [](const LinkSetDown& o) { return fmt::format("~ link {}: down", o.dev); },
          [](const LinkDelete& o) { return fmt::format("- link {}", o.name); },
          [](const FileRestore& o) {
            return o.symlink.empty() ? fmt::format("- file {}", o.path)
                                     : fmt::format("~ file {}: symlink -> {}", o.path, o.symlink);
          },
          [](const AddrAdd& o) { return "+ addr " + addr_text(o.addr); },
          [](const AddrDel& o) { return "- addr " + addr_text(o.addr) + why(o.why); },
          [](const RouteReplace& o) { return "+ route " + route_text(o.route); },
          [](const RouteDel& o) { return "- route " + route_text(o.route) + why(o.why); },
          [](const SysctlSet& o) {
            return fmt::format("~ sysctl {}: {} -> {}", sysctl_dotted(o.key),
                               o.from.empty() ? "(unset)" : o.from, o.to);
          },
          [](const NftTableAdd& o) {
            return fmt::format("+ nft table {} {}", family_name(o.table.family), o.table.name);
          },
          [](const NftCounterAdd& o) {
            return fmt::format("+ nft {} {} counter {}", family_name(o.family), o.table, o.name);
          },
          [](const NftChainAdd& o) {
            return fmt::format("+ nft {} {} chain {}{}", family_name(o.family), o.table, o.name,
                               chain_spec(o.base));
          },
          [](const NftChainDel& o) {
            return fmt::format("- nft {} {} chain {}{}", family_name(o.family), o.table, o.name,
                               why(o.why));
          },
          [](const NftRuleAdd& o) {
            return fmt::format("+ nft {} {} chain {} rule: {}", family_name(o.family), o.table,
                               o.chain, rule_text(o.body));
          },
          [](const NftRuleDel& o) {
            return fmt::format("- nft {} {} chain {} rule: {}", family_name(o.family), o.table,
                               o.chain, o.text);
          },
          [](const NftMapAdd& o) {
            return fmt::format("+ nft {} {} {} {}", family_name(o.family), o.table,
                               o.kind == NftMapKind::count ? "set" : "map", o.name);
          },
          [](const NftMapDel& o) {
            return fmt::format("- nft {} {} map {}{}", family_name(o.family), o.table, o.name,
                               why(o.why));
          },
          [](const NftForwardAdd& o) {
            return fmt::format("+ forward {} {} -> {}", l4_name(o.proto), elem_ports(o.elem),
                               elem_dest(o.elem));
          },
          [](const NftForwardDel& o) {
            return fmt::format("- forward {} {} -> {}", l4_name(o.proto), elem_ports(o.elem),
                               elem_dest(o.elem));
          },
          [](const NftForwardChange& o) {
            return fmt::format("~ forward {} {}: -> {} (was {})", l4_name(o.proto),
                               elem_ports(o.to), elem_dest(o.to), elem_dest(o.from));
          },
          [](const NftElemAdd& o) {
            return fmt::format("+ nft {} {} set {} element {}", family_name(o.family), o.table,
                               o.set, elem_ports(o.elem));
          },
          [](const NftElemDel& o) {
            return fmt::format("- nft {} {} set {} element {}", family_name(o.family), o.table,
                               o.set, elem_ports(o.elem));
          },
          [](const NftKeySetAdd& o) {
            return fmt::format("+ nft {} {} {} {}", family_name(o.family), o.table,
                               o.name == kCtStateMap ? "map" : "set", o.name);
          },
          [](const NftKeySetDel& o) {
            return fmt::format("- nft {} {} set {}{}", family_name(o.family), o.table, o.name,
                               why(o.why));
          },
          [](const NftKeyElemAdd& o) { return "+ " + key_elem_text(o.family, o.set, o.elem); },
          [](const NftKeyElemDel& o) { return "- " + key_elem_text(o.family, o.set, o.elem); },
          [](const FlowsEnd& o) {
            const char* verb = o.moves ? "move" : "end";
            std::string what = fmt::format("flows in flight {}", verb);
            if (o.in_flight)
              what = fmt::format("{} flow{} in flight will {}", *o.in_flight,
                                 *o.in_flight == 1 ? "" : "s", verb);
            return fmt::format("~ conntrack {} {} -> {}:{}: {}", l4_name(o.proto), o.ports.str(),
                               IpAddr::from_bytes(o.to.data(), 4)->str(), o.to_ports.str(), what);
          },
          [](const FileWrite& o) {
            std::string content = o.content;
            if (!content.empty() && content.back() == '\n') content.pop_back();
            return fmt::format("{} file {}{}: {}", o.was == FileKind::missing ? "+" : "~", o.path,
                               o.was == FileKind::symlink ? " (replaces a symlink)" : "",
                               quote(content));
          },
      },
      op);
}

std::string to_json(const Op& op) {
  std::string body = std::visit(
      Overload{
          [](const BridgeCreate& o) {
            return fmt::format(R"("name": {}, "mac": "{}")", quote(o.name), o.mac.str());
          },
          [](const LinkRename& o) {
            return fmt::format(R"("from": {}, "to": {}, "mac": "{}")", quote(o.from), quote(o.to),
                               o.mac.str());
          },
          [](const WgLinkCreate& o) { return fmt::format(R"("name": {})", quote(o.name)); },
          [](const WgSetDevice& o) {
            // The private key is never printed, in any form.
            std::string changes;
            for (size_t i = 0; i < o.changes.size(); i++)
              changes += (i ? ", " : "") + quote(o.changes[i]);
            return fmt::format(
                R"x("name": {}, "private_key": "(hidden)", "listen_port": {}, "peers": {}, "changes": [{}])x",
                quote(o.device.name), o.device.port, o.device.peers.size(), changes);
          },
          [](const FecSet& o) {
            return fmt::format(R"("dev": {}, "from": {}, "to": {})", quote(o.dev), quote(o.from),
                               quote(o.to));
          },
          [](const LinkSetMtu& o) {
            return fmt::format(R"("dev": {}, "from": {}, "to": {})", quote(o.dev), o.from, o.to);
          },
          [](const LinkSetMac& o) {
            return fmt::format(R"("dev": {}, "from": "{}", "to": "{}")", quote(o.dev), o.from.str(),
                               o.to.str());
          },
          [](const LinkSetMaster& o) {
            return fmt::format(R"("dev": {}, "master": {})", quote(o.dev), quote(o.master));
          },
          [](const LinkSetUp& o) { return fmt::format(R"("dev": {})", quote(o.dev)); },
          [](const LinkSetDown& o) { return fmt::format(R"("dev": {})", quote(o.dev)); },
          [](const LinkDelete& o) { return fmt::format(R"("name": {})", quote(o.name)); },
          [](const FileRestore& o) {
            return fmt::format(R"("path": {}, "symlink": {})", quote(o.path),
                               o.symlink.empty() ? "null" : quote(o.symlink));
          },
          [](const AddrAdd& o) { return json_fields(o.addr); },
          [](const AddrDel& o) { return json_fields(o.addr) + ", \"why\": " + quote(o.why); },
          [](const RouteReplace& o) { return json_fields(o.route); },
          [](const RouteDel& o) { return json_fields(o.route) + ", \"why\": " + quote(o.why); },
          [](const SysctlSet& o) {
            return fmt::format(R"("key": {}, "from": {}, "to": {})", quote(sysctl_dotted(o.key)),
                               quote(o.from), quote(o.to));
          },
          [](const NftTableAdd& o) {
            return fmt::format(R"("family": "{}", "table": {})", family_name(o.table.family),
                               quote(o.table.name));
          },
          [](const NftCounterAdd& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {})", family_name(o.family),
                               quote(o.table), quote(o.name));
          },
          [](const NftChainAdd& o) {
            std::string base = "null";
            if (o.base)
              base = fmt::format(R"({{"type": {}, "hook": "{}", "priority": {}, "policy": {}}})",
                                 quote(o.base->type), hook_name(o.base->hook), o.base->priority,
                                 o.base->policy);
            return fmt::format(R"("family": "{}", "table": {}, "name": {}, "base": {})",
                               family_name(o.family), quote(o.table), quote(o.name), base);
          },
          [](const NftChainDel& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {}, "why": {})",
                               family_name(o.family), quote(o.table), quote(o.name), quote(o.why));
          },
          [](const NftRuleAdd& o) {
            return fmt::format(
                R"("family": "{}", "table": {}, "chain": {}, "rule": {}, "id": {}, "place": "{}", "ref": {})",
                family_name(o.family), quote(o.table), quote(o.chain), quote(rule_text(o.body)),
                o.id, place_name(o.place), o.ref);
          },
          [](const NftRuleDel& o) {
            return fmt::format(
                R"("family": "{}", "table": {}, "chain": {}, "rule": {}, "handle": {})",
                family_name(o.family), quote(o.table), quote(o.chain), quote(o.text), o.handle);
          },
          [](const NftMapAdd& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {}, "type": "{}")",
                               family_name(o.family), quote(o.table), quote(o.name),
                               o.kind == NftMapKind::count ? "count set" : "dnat map");
          },
          [](const NftMapDel& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {}, "why": {})",
                               family_name(o.family), quote(o.table), quote(o.name), quote(o.why));
          },
          [](const NftForwardAdd& o) { return forward_json(o.proto, o.elem, nullptr); },
          [](const NftForwardDel& o) { return forward_json(o.proto, o.elem, nullptr); },
          [](const NftForwardChange& o) { return forward_json(o.proto, o.to, &o.from); },
          [](const NftElemAdd& o) { return elem_json(o.family, o.table, o.set, o.elem); },
          [](const NftElemDel& o) { return elem_json(o.family, o.table, o.set, o.elem); },
          [](const NftKeySetAdd& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {})", family_name(o.family),
                               quote(o.table), quote(o.name));
          },
          [](const NftKeySetDel& o) {
            return fmt::format(R"("family": "{}", "table": {}, "name": {}, "why": {})",
                               family_name(o.family), quote(o.table), quote(o.name), quote(o.why));
          },
          [](const NftKeyElemAdd& o) { return key_elem_json(o.family, o.table, o.set, o.elem); },
          [](const NftKeyElemDel& o) { return key_elem_json(o.family, o.table, o.set, o.elem); },
          [](const FlowsEnd& o) {
            std::string out = fmt::format(
                R"("proto": "{}", "port": "{}", "dest_addr": "{}", "dest_port": "{}", "moves": {})",
                l4_name(o.proto), o.ports.str(), IpAddr::from_bytes(o.to.data(), 4)->str(),
                o.to_ports.str(), o.moves);
            if (o.in_flight) out += fmt::format(R"(, "in_flight": {})", *o.in_flight);
            return out;
          },
          [](const FileWrite& o) {
            return fmt::format(R"("path": {}, "content": {}, "replaces": "{}")", quote(o.path),
                               quote(o.content),
                               o.was == FileKind::symlink ? "symlink" : "nothing");
          },
      },
      op);
  return fmt::format(R"({{"kind": "{}", {}}})", op_kind(op), body);
}

const char* op_kind(const Op& op) {
  // In the order of the Op variant's alternatives.
  static constexpr const char* kKinds[] = {
      "bridge_create",    "wireguard_create", "link_rename",   "link_set_mtu",  "link_set_mac",
      "link_set_master",  "link_set_up",      "fec_set",       "wireguard_set", "addr_add",
      "addr_del",         "route_replace",    "route_del",     "sysctl_set",    "nft_table_add",
      "nft_counter_add",  "nft_chain_del",    "nft_chain_add", "nft_rule_del",  "nft_rule_add",
      "nft_map_add",      "nft_map_del",      "forward_add",   "forward_del",   "forward_change",
      "nft_elem_add",     "nft_elem_del",     "nft_set_add",   "nft_set_del",   "nft_set_elem_add",
      "nft_set_elem_del", "flows_end",        "file_write",    "link_set_down", "link_delete",
      "file_restore"};
  static_assert(std::size(kKinds) == std::variant_size_v<Op>);
  return kKinds[op.index()];
}

namespace {

// The chain a rule op changes, or nullptr for other ops.
const std::string* rule_chain(const Op& op, NftFamily& family, const std::string*& table) {
  if (auto* a = std::get_if<NftRuleAdd>(&op)) {
    family = a->family;
    table = &a->table;
    return &a->chain;
  }
  if (auto* d = std::get_if<NftRuleDel>(&op)) {
    family = d->family;
    table = &d->table;
    return &d->chain;
  }
  return nullptr;
}

}  // namespace

std::string to_text(const Plan& p) {
  std::string out;
  for (const auto& w : p.warnings) out += "# warning: " + w + "\n";
  for (size_t i = 0; i < p.ops.size();) {
    NftFamily family;
    const std::string* table;
    const std::string* chain = rule_chain(p.ops[i], family, table);
    if (!chain) {
      out += to_text(p.ops[i++]) + "\n";
      continue;
    }
    // Consecutive rule ops of one chain: a summary line, then each rule.
    size_t end = i, adds = 0, dels = 0;
    for (NftFamily f; end < p.ops.size(); end++) {
      const std::string* t;
      const std::string* c = rule_chain(p.ops[end], f, t);
      if (!c || f != family || *t != *table || *c != *chain) break;
      (std::holds_alternative<NftRuleAdd>(p.ops[end]) ? adds : dels)++;
    }
    out += fmt::format("~ nft {} {} chain {}: +{} -{} rules\n", family_name(family), *table, *chain,
                       adds, dels);
    for (; i < end; i++) {
      if (auto* a = std::get_if<NftRuleAdd>(&p.ops[i])) out += "    + " + rule_text(a->body) + "\n";
      if (auto* d = std::get_if<NftRuleDel>(&p.ops[i])) out += "    - " + d->text + "\n";
    }
  }
  return out;
}

std::string to_json(const Plan& p) {
  std::string out = "[";
  for (size_t i = 0; i < p.ops.size(); i++) out += (i ? ",\n  " : "\n  ") + to_json(p.ops[i]);
  return out + (p.ops.empty() ? "]\n" : "\n]\n");
}

}  // namespace netkeep
