// firewall.json: LAN and router protection, the router's open ports and
// the pinholes to LAN hosts (SPEC §2).
#include <fmt/format.h>

#include <algorithm>

#include "model/config_parse.hpp"
#include "model/config_ports.hpp"

namespace netkeep {

namespace {

using json::element;
using json::Object;
using json::Sink;

// A pinhole or an open entry opens at most this many ports (per
// protocol): a range is expanded into one set element per port, so the
// lookup stays one hash probe, and a range of the whole port space would
// be 65,535 elements.
constexpr uint32_t kMaxPorts = 1024;

// Whether `port` opens more than kMaxPorts ports: then an error names it,
// and `what` opens it ("a pinhole", "an open entry").
bool too_many_ports(Object& o, const std::optional<PortRange>& port, std::string_view what) {
  if (!port || uint32_t(port->last - port->first) + 1 <= kMaxPorts) return false;
  o.sink().error(o.key_path("port"),
                 fmt::format("\"{}\" opens {} ports; {} opens at most {}", port->str(),
                             port->last - port->first + 1, what, kMaxPorts));
  return true;
}

std::optional<IpAddr> read_addr(Object& o, std::string_view key) {
  auto s = o.string(key);
  if (!s) return std::nullopt;
  auto a = IpAddr::parse(*s);
  if (!a) o.sink().error(o.key_path(key), fmt::format("\"{}\" is not an IPv4 or IPv6 address", *s));
  return a;
}

// An interface identifier: "::23" or "::1:2:3:4", the low 64 bits of an
// IPv6 address whose prefix is lan0's delegated /64.
std::optional<IpAddr> read_iid(Object& o) {
  auto s = o.string("dest_iid");
  if (!s) return std::nullopt;
  auto a = IpAddr::parse(*s);
  bool high = false;
  if (a && !a->is_v4())
    for (int i = 0; i < 8; i++) high = high || a->bytes[i];
  if (!a || a->is_v4() || high) {
    o.sink().error(o.key_path("dest_iid"),
                   fmt::format("\"{}\" is not an interface identifier (an IPv6 address in ::/64, "
                               "e.g. \"::23\")",
                               *s));
    return std::nullopt;
  }
  return a;
}

std::optional<Prefix> read_from(Object& o) {
  auto s = o.string("from");
  if (!s) return std::nullopt;
  auto p = Prefix::parse(*s);
  if (!p) {
    // A bare address is a prefix of one host.
    if (auto a = IpAddr::parse(*s)) p = Prefix{*a, static_cast<uint8_t>(a->bits())};
  }
  if (!p)
    o.sink().error(o.key_path("from"), fmt::format("\"{}\" is not a prefix (ADDRESS/LEN)", *s));
  return p ? std::optional<Prefix>(p->network()) : std::nullopt;
}

void read_open(element e, const std::string& path, Sink& sink, FirewallConfig& c) {
  auto o = Object::from(e, path, sink);
  if (!o) return;
  auto protos = ports::read_protos(*o);
  auto port = ports::read_range(*o, "port");
  const bool wide = too_many_ports(*o, port, "an open entry");
  o->finish();
  if (!protos || !port || wide) return;
  for (uint8_t p : *protos)
    if (p) c.open.push_back({p, *port});
}

void read_pinhole(element e, const std::string& path, Sink& sink, size_t entry, FirewallConfig& c) {
  auto o = Object::from(e, path, sink);
  if (!o) return;
  const int errors = sink.errors;
  auto protos = ports::read_protos(*o);
  auto port = ports::read_range(*o, "port");
  auto addr = read_addr(*o, "dest_addr");
  auto iid = read_iid(*o);
  auto from = read_from(*o);
  const bool has_addr = o->raw("dest_addr").has_value(), has_iid = o->raw("dest_iid").has_value();
  if (has_addr && has_iid)
    sink.error(path, "has both dest_addr and dest_iid (one host: pick one)");
  else if (!has_addr && !has_iid)
    sink.error(o->key_path("dest_addr"), "missing (or dest_iid: the host the pinhole opens)");
  too_many_ports(*o, port, "a pinhole");
  const bool v6 = iid || (addr && !addr->is_v4());
  if (from && (addr || iid) && from->addr.is_v4() == v6)
    sink.error(
        o->key_path("from"),
        fmt::format("\"{}\" is an {} prefix but the pinhole's host is an {} address", from->str(),
                    from->addr.is_v4() ? "IPv4" : "IPv6", v6 ? "IPv6" : "IPv4"));
  o->finish();
  if (sink.errors > errors || !protos || !port) return;
  for (uint8_t p : *protos)
    if (p) c.pinholes.push_back({p, *port, addr, iid, from, entry});
}

}  // namespace

namespace {

std::optional<FirewallConfig> parse_whole(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* root = doc.root();
  if (!root) return std::nullopt;
  FirewallConfig c;
  if (auto b = root->boolean("protect_lan")) c.protect_lan = *b;
  if (auto b = root->boolean("protect_router")) c.protect_router = *b;
  root->array("open", [&](element e, const std::string& path) { read_open(e, path, sink, c); });
  size_t entry = 0;
  root->array("pinholes",
              [&](element e, const std::string& path) { read_pinhole(e, path, sink, entry++, c); });
  root->finish();
  if (!c.pinholes.empty() && !c.protect_lan)
    sink.warn("pinholes", "has no effect: protect_lan is false, nothing is filtered");
  if (!c.open.empty() && !c.protect_router)
    sink.warn("open", "has no effect: protect_router is false, nothing is filtered");
  if (sink.errors > 0) return std::nullopt;
  return c;
}

// The memo's config with the pinholes of entries [i, j) of its text
// replaced by those of the new text's entries between the same unchanged
// neighbours; nullopt when the edit is not inside the array, or the new
// entries have anything to say (the full parse says it).
std::optional<FirewallConfig> splice(FirewallMemo& m, std::string_view t, const Sink& sink) {
  if (!m.config.protect_lan) return std::nullopt;  // pinholes warn: the full parse's
  auto edit = json::locate_edit(m.layout, m.text, t);
  if (!edit) return std::nullopt;
  auto fresh = json::parse_edit(m.fragments, *edit);
  if (!fresh) return std::nullopt;
  const size_t i = edit->first, j = edit->last, added = fresh->added;
  Diagnostics said;
  Sink quiet{sink.file, &said};
  FirewallConfig mid;
  size_t k = 0;
  for (element x : fresh->array) {
    const size_t at = k++;
    if (at < edit->leading || at >= edit->leading + added) continue;  // a stand-in
    const size_t entry = i + at - edit->leading;
    read_pinhole(x, json::index("pinholes", entry), quiet, entry, mid);
  }
  if (!said.empty()) return std::nullopt;

  // The pinholes are in entry order: those before, the new ones, those
  // after with their entry numbers shifted.
  auto& pins = m.config.pinholes;
  auto by_entry = [](const Pinhole& x, size_t n) { return x.entry < n; };
  const auto front = std::lower_bound(pins.begin(), pins.end(), i, by_entry);
  const auto back = std::lower_bound(front, pins.end(), j, by_entry);
  if (j != i + added)
    for (auto it = back; it != pins.end(); ++it) it->entry = it->entry - j + i + added;
  const auto at = pins.erase(front, back);
  pins.insert(at, mid.pinholes.begin(), mid.pinholes.end());

  json::apply_edit(m.layout, *edit, fresh->spans, added);
  m.text.assign(t);
  m.spliced++;
  return m.config;
}

}  // namespace

std::optional<FirewallConfig> parse_firewall(std::string_view text, Sink& sink,
                                             FirewallMemo* memo) {
  if (memo && memo->valid)
    if (auto c = splice(*memo, text, sink)) return c;
  if (memo) memo->valid = false;
  const size_t said = sink.out ? sink.out->size() : 0;
  auto c = parse_whole(text, sink);
  if (!memo || !c || (sink.out && sink.out->size() != said)) return c;
  auto layout = json::member_array_layout(text, "pinholes");
  if (!layout) return c;  // no "pinholes" array: nothing to splice into
  memo->text.assign(text);
  memo->config = *c;
  memo->layout = std::move(*layout);
  memo->valid = true;
  return c;
}

}  // namespace netkeep
