#include "reconciler/plan_print.hpp"

#include <fmt/format.h>

#include "model/json_out.hpp"
#include "model/ownership.hpp"

namespace netkeep {

using json::quote;

std::string sysctl_dotted(std::string_view slash_key) {
  std::string out(slash_key);
  for (char& c : out) c = c == '/' ? '.' : c == '.' ? '/' : c;
  return out;
}

namespace {

std::string proto_name(uint8_t p) {
  switch (p) {
    case kRouteProtoKernel: return "kernel";
    case kRouteProtoBoot: return "boot";
    case 4: return "static";
    case kRouteProtoDhcp: return "dhcp";
    case kRouteProtoNetkeep: return "netkeep";
  }
  return std::to_string(p);
}

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

std::string why(const std::string& w) { return w.empty() ? "" : "  (" + w + ")"; }

std::string opt(const std::optional<IpAddr>& a) { return a ? quote(a->str()) : "null"; }

std::string route_json(const Route& r) {
  return fmt::format(
      R"("dst": "{}", "gateway": {}, "dev": {}, "proto": {}, "scope": {}, "prefsrc": {}, "priority": {})",
      r.dst.str(), opt(r.gateway), quote(r.dev), r.proto, r.scope, opt(r.prefsrc), r.priority);
}

std::string addr_json(const Address& a) {
  return fmt::format(R"("dev": {}, "local": "{}", "broadcast": {}, "proto": {})", quote(a.dev),
                     a.local.str(), opt(a.broadcast), a.proto);
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
          [](const LinkSetMtu& o) { return fmt::format("~ link {}: mtu {} -> {}", o.dev, o.from, o.to); },
          [](const LinkSetMac& o) {
            return fmt::format("~ link {}: address {} -> {}", o.dev, o.from.str(), o.to.str());
          },
          [](const LinkSetMaster& o) { return fmt::format("~ link {}: master {}", o.dev, o.master); },
          [](const LinkSetUp& o) { return fmt::format("~ link {}: up", o.dev); },
          [](const AddrAdd& o) { return "+ addr " + addr_text(o.addr); },
          [](const AddrDel& o) { return "- addr " + addr_text(o.addr) + why(o.why); },
          [](const RouteReplace& o) { return "+ route " + route_text(o.route); },
          [](const RouteDel& o) { return "- route " + route_text(o.route) + why(o.why); },
          [](const SysctlSet& o) {
            return fmt::format("~ sysctl {}: {} -> {}", sysctl_dotted(o.key),
                               o.from.empty() ? "(unset)" : o.from, o.to);
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
            return fmt::format(R"("kind": "bridge_create", "name": {}, "mac": "{}")", quote(o.name),
                               o.mac.str());
          },
          [](const LinkRename& o) {
            return fmt::format(R"("kind": "link_rename", "from": {}, "to": {}, "mac": "{}")",
                               quote(o.from), quote(o.to), o.mac.str());
          },
          [](const LinkSetMtu& o) {
            return fmt::format(R"("kind": "link_set_mtu", "dev": {}, "from": {}, "to": {})",
                               quote(o.dev), o.from, o.to);
          },
          [](const LinkSetMac& o) {
            return fmt::format(R"("kind": "link_set_mac", "dev": {}, "from": "{}", "to": "{}")",
                               quote(o.dev), o.from.str(), o.to.str());
          },
          [](const LinkSetMaster& o) {
            return fmt::format(R"("kind": "link_set_master", "dev": {}, "master": {})",
                               quote(o.dev), quote(o.master));
          },
          [](const LinkSetUp& o) {
            return fmt::format(R"("kind": "link_set_up", "dev": {})", quote(o.dev));
          },
          [](const AddrAdd& o) { return R"("kind": "addr_add", )" + addr_json(o.addr); },
          [](const AddrDel& o) {
            return R"("kind": "addr_del", )" + addr_json(o.addr) + ", \"why\": " + quote(o.why);
          },
          [](const RouteReplace& o) { return R"("kind": "route_replace", )" + route_json(o.route); },
          [](const RouteDel& o) {
            return R"("kind": "route_del", )" + route_json(o.route) + ", \"why\": " + quote(o.why);
          },
          [](const SysctlSet& o) {
            return fmt::format(R"("kind": "sysctl_set", "key": {}, "from": {}, "to": {})",
                               quote(sysctl_dotted(o.key)), quote(o.from), quote(o.to));
          },
          [](const FileWrite& o) {
            return fmt::format(R"("kind": "file_write", "path": {}, "content": {}, "replaces": "{}")",
                               quote(o.path), quote(o.content),
                               o.was == FileKind::symlink ? "symlink" : "nothing");
          },
      },
      op);
  return "{" + body + "}";
}

std::string to_text(const Plan& p) {
  std::string out;
  for (const auto& op : p.ops) out += to_text(op) + "\n";
  return out;
}

std::string to_json(const Plan& p) {
  std::string out = "[";
  for (size_t i = 0; i < p.ops.size(); i++) out += (i ? ",\n  " : "\n  ") + to_json(p.ops[i]);
  return out + (p.ops.empty() ? "]\n" : "\n]\n");
}

}  // namespace netkeep
