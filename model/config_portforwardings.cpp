// portforwardings.json: the DNAT rules of the forwarding chain.
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>

#include "model/config_parse.hpp"
#include "model/config_ports.hpp"
#include "model/first_match.hpp"
#include "model/json_layout.hpp"
#include "model/portforwardings_memo.hpp"

namespace netkeep {

std::string PortRange::str() const {
  return single() ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

// "N" or "N-M" as written, possibly reversed; nullopt unless both are
// ports (1-65535, decimal digits only). One pass by hand: a file of
// thousands of forwardings has two of these per entry.
std::optional<PortRange> PortRange::parse(std::string_view s) {
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

namespace {

using json::element;
using json::Object;
using json::Sink;
using pf_parse::Rules;
using pf_parse::runs_after_splice;
using pf_parse::splice;
using pf_parse::Spliced;
using ports::Protos;
using ports::read_protos;
using ports::read_range;

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
  auto p = PortRange::parse(port), dp = PortRange::parse(dest_port);
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

// By quick_entry alone; false if it does not take the entry.
bool pf_parse::Rules::add_quick(element e, size_t entry) {
  std::optional<uint8_t> second;
  auto f = quick_entry(e, second);
  if (!f) return false;
  add(*f, entry);
  if (second) {
    f->proto = *second;
    add(*f, entry);
  }
  return true;
}

namespace {

// An entry quick_entry does not take, read key by key with every error reported.
void read_entry(element e, const std::string& path, size_t entry, Sink& sink, Rules& out) {
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
    out.add({p, *port, *dest, *dest_port}, entry);
  }
}

const char* proto_name(uint8_t proto) {
  return proto == IPPROTO_TCP ? "tcp" : "udp";
}

// Forwardings may overlap: the first in file order wins each port, as in
// router7, whose own test config puts "8045" before "8040-8060". What an
// earlier entry takes from a later one is worth a warning naming both, and
// one that leaves it nothing means it can never match. The same ports
// twice with different destinations is almost surely a mistake: an error.
// The first rule with each (protocol, ports): open addressing in one
// array, as thousands of rules are checked on every reconcile.
class FirstWithPorts {
 public:
  explicit FirstWithPorts(size_t rules) {
    size_t n = 16;
    while (n < 2 * rules) n *= 2;
    slots_.assign(n, {0, 0});
  }
  // The first rule given these ports: `index` itself when it is the first.
  size_t first(const Forwarding& f, size_t index) {
    const uint64_t key = uint64_t(f.proto) << 32 | uint32_t(f.port.first) << 16 | f.port.last;
    const size_t mask = slots_.size() - 1;
    for (size_t at = (key * 0x9e3779b97f4a7c15u) >> 40 & mask;; at = (at + 1) & mask) {
      auto& [k, i] = slots_[at];
      if (k == key + 1) return i;
      if (k == 0) {
        slots_[at] = {key + 1, index};
        return index;
      }
    }
  }

 private:
  std::vector<std::pair<uint64_t, size_t>> slots_;  // key + 1 (0: empty), rule
};

struct Overlaps {
  std::vector<PortRun> runs;  // first match
  bool disjoint = true;       // no rule shares a port with another
};

Overlaps check_overlaps(const std::vector<Forwarding>& rules, const std::vector<size_t>& entry_of,
                        Sink& sink) {
  FirstMatch match;
  FirstWithPorts exact(rules.size());
  bool disjoint = true;
  for (size_t i = 0; i < rules.size(); i++) {
    const Forwarding& f = rules[i];
    const Shadow s = match.claim(i, f);
    const size_t same = exact.first(f, i);
    if (!s.first_by) continue;
    disjoint = false;
    const std::string at = json::join(json::index("forwardings", entry_of[i]), "port");
    if (same != i) {
      const Forwarding& e = rules[same];
      const std::string earlier = json::index("forwardings", entry_of[same]);
      if (e.dest_addr != f.dest_addr || e.dest_port != f.dest_port) {
        sink.error(at, fmt::format("\"{}\" ({}) is also {}.port, with another destination "
                                   "({}:{}, not {}:{}): only the first could ever match",
                                   f.port.str(), proto_name(f.proto), earlier, e.dest_addr.str(),
                                   e.dest_port.str(), f.dest_addr.str(), f.dest_port.str()));
        continue;
      }
    }
    const std::string by = json::index("forwardings", entry_of[*s.first_by]);
    const uint32_t size = uint32_t(f.port.last) - f.port.first + 1;
    if (s.ports == size)
      sink.warn(at, fmt::format("\"{}\" ({}) NEVER MATCHES: earlier entries ({} first) take "
                                "all of its ports; remove it or move it up",
                                f.port.str(), proto_name(f.proto), by));
    else
      sink.warn(at, fmt::format("\"{}\" ({}) is partly shadowed: {} of its {} ports go to "
                                "earlier entries ({} \"{}\" first)",
                                f.port.str(), proto_name(f.proto), s.ports, size, by,
                                rules[*s.first_by].port.str()));
  }
  return {match.runs(), disjoint};
}

}  // namespace

std::optional<PortForwardings> parse_portforwardings(std::string_view text, Sink& sink,
                                                     PortForwardingsMemo* memo,
                                                     std::string* storage) {
  // The same text again (a reconcile for a kernel event): the memo holds
  // only texts that parsed cleanly, so its rules are the answer.
  if (memo && memo->valid && text == memo->text) {
    memo->spliced++;
    if (!memo->disjoint) check_overlaps(memo->rules, memo->entry_of, sink);  // its warnings again
    return PortForwardings{memo->rules, memo->runs};
  }
  Rules r;
  bool keep_tcp = false;  // only in a file the memo cannot describe
  json::ArrayLayout layout;
  bool remember = false;  // the memo can describe this text
  std::optional<Overlaps> overlaps;
  Spliced where;
  if (memo && memo->valid && splice(*memo, text, r, layout, where)) {
    memo->spliced++;
    remember = true;
    if (auto runs = runs_after_splice(*memo, where.front, where.back, where.added, r.rules)) {
      memo->runs_spliced++;
      overlaps = Overlaps{std::move(*runs), true};
    }
  } else {
    const size_t diagnostics = sink.out->size();
    bool plain = true;  // every entry taken by quick_entry
    json::Document doc(text, sink);
    Object* root = doc.root();
    if (!root) return std::nullopt;
    size_t entry = 0;
    root->array("forwardings", [&](element e, const std::string& path) {
      const size_t this_entry = entry++;
      if (r.add_quick(e, this_entry)) return;
      plain = false;
      read_entry(e, path, this_entry, sink, r);
    });
    keep_tcp = root->boolean("keep_tcp").value_or(false);
    root->finish();
    if (sink.errors > 0) return std::nullopt;
    if (memo && plain && sink.out->size() == diagnostics) {
      if (auto l = json::forwardings_layout(text)) {
        layout = std::move(*l);
        remember = true;
      }
    }
  }
  if (!overlaps) overlaps = check_overlaps(r.rules, r.entry_of, sink);
  if (sink.errors > 0) return std::nullopt;
  if (memo) {
    memo->valid = remember;
    if (remember) {
      if (storage && storage->data() == text.data() && storage->size() == text.size())
        memo->text.swap(*storage);
      else
        memo->text.assign(text);
      memo->entry_of = std::move(r.entry_of);
      memo->layout = std::move(layout);
      memo->disjoint = overlaps->disjoint;
      memo->rules = r.rules;
      memo->runs = overlaps->runs;
    }
  }
  return PortForwardings{std::move(r.rules), std::move(overlaps->runs), keep_tcp};
}

}  // namespace netkeep
