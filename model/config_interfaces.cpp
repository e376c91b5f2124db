// interfaces.json: links, their addresses and routes, and bridges.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "model/config_parse.hpp"

namespace netkeep {

namespace {

using json::element;
using json::Object;
using json::Sink;

std::string quoted(std::string_view s) {
  return fmt::format("\"{}\"", s);
}

std::optional<Mac> read_mac(Object& o, std::string_view key) {
  auto s = o.string(key);
  if (!s || s->empty()) return std::nullopt;  // Go's omitempty writes "" for unset
  auto m = Mac::parse(*s);
  if (!m)
    o.sink().error(
        o.key_path(key),
        fmt::format("{} is not a MAC address (expected e.g. 02:00:00:00:00:01)", quoted(*s)));
  return m;
}

std::optional<Prefix> parse_prefix(std::string_view s, const std::string& path, Sink& sink) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) {
    sink.error(path,
               fmt::format("{} has no prefix length (expected e.g. 10.10.0.1/24)", quoted(s)));
    return std::nullopt;
  }
  auto addr = IpAddr::parse(s.substr(0, slash));
  if (!addr) {
    sink.error(path, fmt::format("{} is not an IP address", quoted(s.substr(0, slash))));
    return std::nullopt;
  }
  auto p = Prefix::parse(s);
  if (!p) {
    sink.error(path, fmt::format("{}: prefix length must be 0-{}", quoted(s), addr->bits()));
    return std::nullopt;
  }
  return p;
}

std::optional<std::string> read_ifname(Object& o, std::string_view key) {
  auto s = o.string(key);
  if (!s) {
    if (!o.raw(key)) o.sink().error(o.key_path(key), "missing (every entry needs a name)");
    return std::nullopt;
  }
  if (s->size() > kMaxIfName) {
    o.sink().error(o.key_path(key), fmt::format("{} is longer than {} bytes, the kernel's limit",
                                                quoted(*s), kMaxIfName));
    return std::nullopt;
  }
  if (!valid_ifname(*s)) {
    o.sink().error(o.key_path(key), fmt::format("{} is not a valid interface name", quoted(*s)));
    return std::nullopt;
  }
  return std::string(*s);
}

bool is_fec_mode(std::string_view s) {
  return std::any_of(std::begin(kFecModes), std::end(kFecModes),
                     [&](const char* m) { return s == m; });
}

std::optional<RouteSpec> read_route(element e, const std::string& path, Sink& sink) {
  auto o = Object::from(e, path, sink);
  if (!o) return std::nullopt;
  RouteSpec r;
  bool ok = true;
  if (auto d = o->string("destination")) {
    if (auto p = parse_prefix(*d, o->key_path("destination"), sink)) {
      if (p->network() != *p) {
        sink.error(
            o->key_path("destination"),
            fmt::format("{} has host bits set (did you mean {}?)", quoted(*d), p->network().str()));
        ok = false;
      }
      r.destination = *p;
    } else {
      ok = false;
    }
  } else {
    if (!o->raw("destination")) sink.error(o->key_path("destination"), "missing");
    ok = false;
  }
  if (auto g = o->string("gateway"); g && !g->empty()) {
    r.gateway = IpAddr::parse(*g);
    if (!r.gateway) {
      sink.error(o->key_path("gateway"), fmt::format("{} is not an IP address", quoted(*g)));
      ok = false;
    } else if (ok && r.gateway->family != r.destination.addr.family) {
      sink.error(o->key_path("gateway"),
                 fmt::format("{} is not of the destination's address family", quoted(*g)));
      ok = false;
    }
  }
  o->finish();
  if (!ok) return std::nullopt;
  return r;
}

std::optional<InterfaceSpec> read_interface(element e, const std::string& path, Sink& sink) {
  auto o = Object::from(e, path, sink);
  if (!o) return std::nullopt;
  int errors_before = sink.errors;
  InterfaceSpec s;
  s.hardware_addr = read_mac(*o, "hardware_addr");
  s.spoof_hardware_addr = read_mac(*o, "spoof_hardware_addr");
  if (auto n = read_ifname(*o, "name")) s.name = *n;
  if (auto mtu = o->integer("mtu")) {
    if (*mtu != 0 && (*mtu < 68 || *mtu > 65535))
      sink.error(o->key_path("mtu"),
                 fmt::format("{} is out of range (68-65535, or 0 to leave the MTU alone)", *mtu));
    else
      s.mtu = static_cast<uint32_t>(*mtu);
  }
  if (auto a = o->string("addr"); a && !a->empty())
    s.addr = parse_prefix(*a, o->key_path("addr"), sink);
  o->array("extra_addrs", [&](element item, const std::string& p) {
    if (auto str = json::as_string(item, p, sink))
      if (auto pre = parse_prefix(*str, p, sink)) s.extra_addrs.push_back(*pre);
  });
  o->array("extra_routes", [&](element item, const std::string& p) {
    if (auto r = read_route(item, p, sink)) s.extra_routes.push_back(*r);
  });
  if (auto f = o->string("fec"); f && !f->empty()) {
    std::string lower(*f);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (!is_fec_mode(lower))
      sink.error(o->key_path("fec"),
                 fmt::format("{} is not a FEC mode ({})", quoted(*f), fmt::join(kFecModes, ", ")));
    else
      s.fec = lower;
  }
  o->finish();
  if (sink.errors > errors_before) return std::nullopt;
  return s;
}

std::optional<BridgeSpec> read_bridge(element e, const std::string& path, Sink& sink) {
  auto o = Object::from(e, path, sink);
  if (!o) return std::nullopt;
  int errors_before = sink.errors;
  BridgeSpec b;
  if (auto n = read_ifname(*o, "name")) b.name = *n;
  o->array("interface_hardware_addrs", [&](element item, const std::string& p) {
    auto str = json::as_string(item, p, sink);
    if (!str) return;
    if (auto m = Mac::parse(*str))
      b.members.push_back(*m);
    else
      sink.error(p, fmt::format("{} is not a MAC address (expected e.g. 02:00:00:00:00:01)",
                                quoted(*str)));
  });
  o->finish();
  if (sink.errors > errors_before) return std::nullopt;
  return b;
}

}  // namespace

std::optional<InterfacesConfig> parse_interfaces(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* root = doc.root();
  if (!root) return std::nullopt;
  InterfacesConfig c;
  root->array("interfaces", [&](element e, const std::string& p) {
    if (auto s = read_interface(e, p, sink)) c.interfaces.push_back(std::move(*s));
  });
  root->array("bridges", [&](element e, const std::string& p) {
    if (auto b = read_bridge(e, p, sink)) c.bridges.push_back(std::move(*b));
  });
  root->finish();

  if (sink.errors > 0) return std::nullopt;
  // A bridge named like an entry that matches another link by its MAC
  // would make two links of one name. (An entry of the bridge's name
  // without a MAC, or with a member's MAC, which the bridge takes,
  // configures the bridge itself: its address, say.)
  for (size_t b = 0; b < c.bridges.size(); b++)
    for (size_t i = 0; i < c.interfaces.size(); i++)
      if (const auto& mac = c.interfaces[i].hardware_addr;
          c.interfaces[i].name == c.bridges[b].name && mac &&
          std::find(c.bridges[b].members.begin(), c.bridges[b].members.end(), *mac) ==
              c.bridges[b].members.end())
        sink.error(json::join(json::index("bridges", b), "name"),
                   fmt::format("\"{}\" is also the name interfaces[{}] gives the link with MAC {}",
                               c.bridges[b].name, i, c.interfaces[i].hardware_addr->str()));
  // Two entries claiming one name would rename two links to it.
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < c.interfaces.size(); i++) {
    auto [it, fresh] = seen.emplace(c.interfaces[i].name, i);
    if (!fresh)
      sink.error(
          json::join(json::index("interfaces", i), "name"),
          fmt::format("\"{}\" is already the name of interfaces[{}]", it->first, it->second));
  }
  if (sink.errors > 0) return std::nullopt;
  return c;
}

}  // namespace netkeep
