// portforwardings.json: the DNAT rules of the forwarding chain.
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>

#include "model/config.hpp"

namespace netkeep {

std::string PortRange::str() const {
  return single() ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

namespace {

using json::element;
using json::Object;
using json::Sink;

// "N" or "N-M" as written, possibly reversed; nullopt unless both are
// ports (1-65535, decimal digits only). One pass by hand: a file of
// thousands of forwardings has two of these per entry.
std::optional<PortRange> parse_range(std::string_view s) {
  uint32_t v[2] = {0, 0};
  size_t part = 0, digits = 0;
  for (char c : s) {
    if (c == '-' && part == 0 && digits > 0) {
      part = 1;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      v[part] = std::min<uint32_t>(v[part] * 10 + uint32_t(c - '0'), 65536);  // 65536: too big
      digits++;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0) return std::nullopt;
  if (part == 0) v[1] = v[0];
  for (uint32_t p : v)
    if (p < 1 || p > 65535) return std::nullopt;
  return PortRange{uint16_t(v[0]), uint16_t(v[1])};
}

std::optional<PortRange> read_range(Object& o, std::string_view key) {
  auto s = o.string(key);
  if (!s) {
    if (!o.raw(key)) o.sink().error(o.key_path(key), "missing");
    return std::nullopt;
  }
  auto r = parse_range(*s);
  if (!r) {
    o.sink().error(o.key_path(key),
                   fmt::format("\"{}\" is not a port (1-65535) or a range N-M", *s));
    return std::nullopt;
  }
  if (r->first > r->last) {
    o.sink().error(o.key_path(key), fmt::format("\"{}\" is a reversed range (did you mean {}-{}?)",
                                                *s, r->last, r->first));
    return std::nullopt;
  }
  return r;
}

// "tcp" (also when empty), "udp", or a comma list of them, in order: at
// most two, kept inline (a list of 0 marks the end).
using Protos = std::array<uint8_t, 2>;
std::optional<Protos> read_protos(Object& o) {
  Protos out{};
  auto s = o.string("proto");
  if (!s) {
    if (o.raw("proto")) return std::nullopt;  // wrong type, reported
    return Protos{IPPROTO_TCP, 0};
  }
  if (s->empty()) return Protos{IPPROTO_TCP, 0};
  std::string_view rest = *s;
  for (size_t n = 0;; n++) {
    auto comma = rest.find(',');
    std::string_view p = rest.substr(0, comma);
    while (!p.empty() && p.front() == ' ') p.remove_prefix(1);
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    uint8_t proto = p == "tcp" ? IPPROTO_TCP : p == "udp" ? IPPROTO_UDP : 0;
    if (!proto || n >= out.size() || std::find(out.begin(), out.end(), proto) != out.end()) {
      o.sink().error(o.key_path("proto"),
                     fmt::format("\"{}\" is not tcp, udp or a comma list of them", *s));
      return std::nullopt;
    }
    out[n] = proto;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

// The common case, read in one pass over the entry's fields: an object of
// known keys whose values are all valid. nullopt for anything else, which
// the full reader then reports with its messages.
std::optional<Forwarding> quick_entry(element e, std::optional<uint8_t>& second_proto) {
  simdjson::dom::object o;
  if (e.get_object().get(o)) return std::nullopt;
  std::string_view proto, port, dest, dest_port;
  unsigned seen = 0;  // a key given twice goes to the full reader too
  for (auto [key, value] : o) {
    std::string_view v;
    if (value.get_string().get(v)) return std::nullopt;
    unsigned bit = key == "port"        ? 1
                   : key == "dest_addr" ? 2
                   : key == "dest_port" ? 4
                   : key == "proto"     ? 8
                                        : 0;
    if (!bit || (seen & bit)) return std::nullopt;  // unknown keys are warned by the full reader
    seen |= bit;
    (bit == 1 ? port : bit == 2 ? dest : bit == 4 ? dest_port : proto) = v;
  }
  if (port.empty() || dest.empty() || dest_port.empty()) return std::nullopt;
  Forwarding f;
  second_proto.reset();
  if (proto.empty() || proto == "tcp") {
    f.proto = IPPROTO_TCP;
  } else if (proto == "udp") {
    f.proto = IPPROTO_UDP;
  } else if (proto == "tcp,udp") {
    f.proto = IPPROTO_TCP;
    second_proto = IPPROTO_UDP;
  } else if (proto == "udp,tcp") {
    f.proto = IPPROTO_UDP;
    second_proto = IPPROTO_TCP;
  } else {
    return std::nullopt;
  }
  auto p = parse_range(port), dp = parse_range(dest_port);
  auto a = IpAddr::parse(dest);
  if (!p || !dp || p->first > p->last || dp->first > dp->last || !a || !a->is_v4() ||
      (!dp->single() && *dp != *p))
    return std::nullopt;
  f.port = *p;
  f.dest_addr = *a;
  f.dest_port = *dp;
  return f;
}

}  // namespace

std::optional<PortForwardings> parse_portforwardings(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* root = doc.root();
  if (!root) return std::nullopt;
  // Every entry expanded to one rule per protocol, and the entry of each.
  std::vector<Forwarding> rules;
  std::vector<size_t> entry_of;
  size_t entry = 0;
  root->array("forwardings", [&](element e, const std::string& path) {
    const size_t this_entry = entry++;
    std::optional<uint8_t> second;
    if (auto f = quick_entry(e, second)) {
      rules.push_back(*f);
      entry_of.push_back(this_entry);
      if (second) {
        f->proto = *second;
        rules.push_back(*f);
        entry_of.push_back(this_entry);
      }
      return;
    }
    auto o = Object::from(e, path, sink);
    if (!o) return;
    int errors = sink.errors;
    auto protos = read_protos(*o);
    auto port = read_range(*o, "port");
    std::optional<IpAddr> dest;
    if (auto d = o->string("dest_addr")) {
      dest = IpAddr::parse(*d);
      if (!dest || !dest->is_v4()) {
        sink.error(o->key_path("dest_addr"), fmt::format("\"{}\" is not an IPv4 address", *d));
        dest.reset();
      }
    } else if (!o->raw("dest_addr")) {
      sink.error(o->key_path("dest_addr"), "missing");
    }
    auto dest_port = read_range(*o, "dest_port");
    // A DNAT port range keeps each connection's port when it lies within the
    // range and picks an arbitrary one otherwise: the kernel cannot shift a
    // range. So a dest_port range must be the port range itself.
    if (port && dest_port && !dest_port->single()) {
      if (dest_port->last - dest_port->first != port->last - port->first)
        sink.error(o->key_path("dest_port"),
                   fmt::format("\"{}\" spans {} ports but port \"{}\" spans {}", dest_port->str(),
                               dest_port->last - dest_port->first + 1, port->str(),
                               port->last - port->first + 1));
      else if (*dest_port != *port)
        sink.error(
            o->key_path("dest_port"),
            fmt::format(
                "\"{}\" must equal port \"{}\": nftables keeps a connection's port within "
                "a DNAT range and cannot shift it (a single dest_port maps the whole range to it)",
                dest_port->str(), port->str()));
    }
    o->finish();
    if (sink.errors > errors || !protos || !port || !dest || !dest_port) return;
    for (uint8_t p : *protos) {
      if (!p) break;
      rules.push_back({p, *port, *dest, *dest_port});
      entry_of.push_back(this_entry);
    }
  });
  root->finish();
  if (sink.errors > 0) return std::nullopt;

  // Two forwardings of one protocol and overlapping ports: only the first
  // would ever match, which is never what the operator meant. Each port
  // remembers the rule that took it; an entry stops at its first port
  // already taken, so each port is visited about once whatever the ranges.
  std::array<std::vector<uint32_t>, 2> taken;  // tcp, udp: per port, its rule's index + 1
  for (size_t i = 0; i < rules.size(); i++) {
    const Forwarding& f = rules[i];
    auto& owner = taken[f.proto == IPPROTO_TCP ? 0 : 1];
    if (owner.empty()) owner.resize(65536);
    for (uint32_t port = f.port.first; port <= f.port.last; port++) {
      if (owner[port] == 0) {
        owner[port] = uint32_t(i + 1);
        continue;
      }
      const Forwarding& earlier = rules[owner[port] - 1];
      sink.error(json::join(json::index("forwardings", entry_of[i]), "port"),
                 fmt::format("\"{}\" overlaps {}.port \"{}\" ({})", f.port.str(),
                             json::index("forwardings", entry_of[owner[port] - 1]),
                             earlier.port.str(),
                             f.proto == IPPROTO_TCP ? "tcp" : "udp"));
      break;
    }
  }
  if (sink.errors > 0) return std::nullopt;
  return PortForwardings{std::move(rules)};
}

}  // namespace netkeep
