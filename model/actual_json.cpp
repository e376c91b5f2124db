#include "model/actual_json.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>

#include "model/json_out.hpp"
#include "model/config_parse.hpp"
#include "model/nft_text.hpp"

namespace netkeep {

using json::quote;

namespace {

std::string opt_ip(const std::optional<IpAddr>& a) {
  return a ? quote(a->str()) : "null";
}

const char* file_kind_name(FileKind k) {
  switch (k) {
    case FileKind::missing:
      return "missing";
    case FileKind::regular:
      return "regular";
    case FileKind::symlink:
      return "symlink";
    case FileKind::other:
      return "other";
  }
  return "other";
}

template <class T, class F>
void write_list(std::string& out, const char* key, const std::vector<T>& items, F line, bool last) {
  out += fmt::format("  \"{}\": [", key);
  for (size_t i = 0; i < items.size(); i++)
    out += fmt::format("{}\n    {}", i ? "," : "", line(items[i]));
  out += items.empty() ? "]" : "\n  ]";
  out += last ? "\n" : ",\n";
}

std::string hex_bytes(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string rule_json(const NftRule& r) {
  std::string out = fmt::format(R"({{"text": {}, "exprs": [)", quote(rule_text(r.body)));
  const auto exprs = decode_exprs(r.body);
  for (size_t i = 0; i < exprs.size(); i++) {
    const auto& e = exprs[i];
    out += fmt::format(R"({}{{"name": {}, "attrs": {{)", i ? ", " : "", quote(e.name));
    for (size_t k = 0; k < e.attrs.size(); k++)
      out += fmt::format(R"({}"{}": "{}")", k ? ", " : "", e.attrs[k].type,
                         hex_bytes(e.attrs[k].value));
    out += "}}";
  }
  return out + "]}";
}

// The private key is never written: "(hidden)" when one is set, as wg show does.
std::string wg_json(const WgDeviceState& d) {
  std::string peers;
  for (size_t i = 0; i < d.peers.size(); i++) {
    const auto& p = d.peers[i];
    std::string ips;
    for (size_t k = 0; k < p.allowed_ips.size(); k++)
      ips += fmt::format("{}\"{}\"", k ? ", " : "", p.allowed_ips[k].str());
    peers += fmt::format(
        R"({}{{"public_key": "{}", "endpoint": {}, "endpoint_port": {}, "allowed_ips": [{}]}})",
        i ? ", " : "", base64_encode(p.public_key), opt_ip(p.endpoint), p.endpoint_port, ips);
  }
  return fmt::format(
      R"({{"name": {}, "listen_port": {}, "private_key": {}, "public_key": "{}", "peers": [{}]}})",
      quote(d.name), d.listen_port, d.private_key.empty() ? "null" : quote(kHiddenKey),
      base64_encode(d.public_key), peers);
}

// Handles and counter values are left out unless asked for: they differ
// from run to run, and the planner never compares them.
std::string nft_json(const NftState& n, bool counters) {
  std::string out = "  \"nft\": {\n    \"tables\": [";
  for (size_t i = 0; i < n.tables.size(); i++)
    out += fmt::format("{}\"{} {}\"", i ? ", " : "", family_name(n.tables[i].family),
                       n.tables[i].name);
  out += "],\n    \"counters\": [";
  for (size_t i = 0; i < n.counters.size(); i++)
    out += fmt::format("{}\"{} {} {}\"", i ? ", " : "", family_name(n.counters[i].family),
                       n.counters[i].table, n.counters[i].name);
  out += "],\n    \"maps\": [";
  for (size_t i = 0; i < n.maps.size(); i++) {
    const auto& m = n.maps[i];
    out += fmt::format(R"({}
      {{"family": "{}", "table": {}, "name": {}, "kind": "{}", "typed": {}, "elements": [)",
                       i ? "," : "", family_name(m.family), quote(m.table), quote(m.name),
                       m.kind == NftMapKind::count ? "count" : "dnat", m.typed);
    for (size_t k = 0; k < m.elems.size(); k++) {
      const auto& e = m.elems[k];
      if (m.kind == NftMapKind::count) {
        out += fmt::format(
            R"({}
        {{"port": "{}"{}}})",
            k ? "," : "", PortRange{e.first, e.last}.str(),
            counters ? fmt::format(R"(, "packets": {}, "bytes": {})", e.packets, e.bytes) : "");
        continue;
      }
      out += fmt::format(R"({}
        {{"port": "{}", "dest_addr": "{}", "dest_port": "{}"{}}})",
                         k ? "," : "", PortRange{e.first, e.last}.str(),
                         IpAddr::from_bytes(e.addr.data(), 4)->str(),
                         PortRange{e.to_first, e.to_last}.str(),
                         counters ? fmt::format(R"(, "connections": {})", e.packets) : "");
    }
    out += m.elems.empty() ? "]}" : "\n      ]}";
  }
  out += n.maps.empty() ? "" : "\n    ";
  // Protection's sets: keys as the kernel holds them, in hex.
  out += "],\n    \"sets\": [";
  for (size_t i = 0; i < n.keysets.size(); i++) {
    const auto& k = n.keysets[i];
    out += fmt::format(R"({}
      {{"family": "{}", "table": {}, "name": {}, "typed": {}, "elements": [)",
                       i ? "," : "", family_name(k.family), quote(k.table), quote(k.name), k.typed);
    for (size_t e = 0; e < k.elems.size(); e++)
      out += fmt::format(R"({}{{"key": "{}", "verdict": {}{}}})", e ? ", " : "",
                         hex_bytes(k.elems[e].key.view()), k.elems[e].verdict,
                         counters ? fmt::format(R"(, "packets": {}, "bytes": {})",
                                                k.elems[e].packets, k.elems[e].bytes)
                                  : "");
    out += "]}";
  }
  out += n.keysets.empty() ? "" : "\n    ";
  out += "],\n    \"chains\": [";
  for (size_t i = 0; i < n.chains.size(); i++) {
    const auto& c = n.chains[i];
    std::string base = "null";
    if (c.base)
      base = fmt::format(R"({{"type": {}, "hook": {}, "priority": {}, "policy": {}}})",
                         quote(c.base->type), c.base->hook, c.base->priority, c.base->policy);
    out += fmt::format(R"({}
      {{"family": "{}", "table": {}, "name": {}, "base": {}, "rules": [)",
                       i ? "," : "", family_name(c.family), quote(c.table), quote(c.name), base);
    for (size_t k = 0; k < c.rules.size(); k++)
      out += fmt::format("{}\n        {}", k ? "," : "", rule_json(c.rules[k]));
    out += c.rules.empty() ? "]}" : "\n      ]}";
  }
  out += n.chains.empty() ? "]\n  }\n" : "\n    ]\n  }\n";
  return out;
}

}  // namespace

std::string json_fields(const Address& a) {
  return fmt::format(R"("dev": {}, "local": "{}", "broadcast": {}, "proto": {})", quote(a.dev),
                     a.local.str(), opt_ip(a.broadcast), a.proto);
}

std::string json_fields(const Route& r) {
  return fmt::format(
      R"("dst": "{}", "gateway": {}, "dev": {}, "proto": {}, "scope": {}, "prefsrc": {}, "priority": {})",
      r.dst.str(), opt_ip(r.gateway), quote(r.dev), r.proto, r.scope, opt_ip(r.prefsrc),
      r.priority);
}

std::string to_json(const Actual& a, bool counters, std::string_view more) {
  std::string out = "{\n";
  write_list(
      out, "links", a.links,
      [](const Link& l) {
        return fmt::format(
            R"({{"name": {}, "kind": {}, "mac": "{}", "mtu": {}, "up": {}, "master": {}}})",
            quote(l.name), quote(l.kind), l.mac.str(), l.mtu, l.up, quote(l.master));
      },
      false);
  write_list(
      out, "addrs", a.addrs, [](const Address& x) { return "{" + json_fields(x) + "}"; }, false);
  write_list(
      out, "routes", a.routes, [](const Route& r) { return "{" + json_fields(r) + "}"; }, false);
  out += "  \"sysctls\": {";
  size_t i = 0;
  for (const auto& [k, v] : a.sysctls)
    out += fmt::format("{}\n    {}: {}", i++ ? "," : "", quote(k), quote(v));
  out += a.sysctls.empty() ? "},\n" : "\n  },\n";
  out += "  \"files\": {";
  i = 0;
  for (const auto& [k, f] : a.files) {
    out += fmt::format("{}\n    {}: {{\"kind\": \"{}\"", i++ ? "," : "", quote(k),
                       file_kind_name(f.kind));
    if (f.kind == FileKind::regular) out += fmt::format(", \"content\": {}", quote(f.content));
    out += "}";
  }
  out += a.files.empty() ? "},\n" : "\n  },\n";
  write_list(out, "wireguard", a.wireguard, wg_json, false);
  out += "  \"fec\": {";
  i = 0;
  for (const auto& [k, v] : a.fec)
    out += fmt::format("{}\n    {}: {}", i++ ? "," : "", quote(k), quote(v));
  out += a.fec.empty() ? "},\n" : "\n  },\n";
  out += nft_json(a.nft, counters);
  if (!more.empty()) {
    out.pop_back();  // the newline after nftables' object
    out += fmt::format(",\n  {}\n", more);
  }
  return out + "}\n";
}

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

struct Bad {
  std::string what;
};

std::string str(object o, const char* key) {
  std::string_view s;
  if (o[key].get_string().get(s)) throw Bad{fmt::format("\"{}\" must be a string", key)};
  return std::string(s);
}

uint64_t num(object o, const char* key) {
  uint64_t v;
  if (o[key].get_uint64().get(v)) throw Bad{fmt::format("\"{}\" must be a number", key)};
  return v;
}

std::optional<IpAddr> opt_ip(object o, const char* key) {
  element e;
  if (o[key].get(e) || e.is_null()) return std::nullopt;
  auto s = str(o, key);
  auto a = IpAddr::parse(s);
  if (!a) throw Bad{fmt::format("\"{}\": \"{}\" is not an IP address", key, s)};
  return a;
}

Prefix prefix(object o, const char* key) {
  auto s = str(o, key);
  auto p = Prefix::parse(s);
  if (!p) throw Bad{fmt::format("\"{}\": \"{}\" is not a prefix", key, s)};
  return *p;
}

FileKind file_kind(std::string_view s) {
  if (s == "missing") return FileKind::missing;
  if (s == "regular") return FileKind::regular;
  if (s == "symlink") return FileKind::symlink;
  return FileKind::other;
}

std::optional<NftFamily> family_of(std::string_view s) {
  if (s == "ip") return NftFamily::ip;
  if (s == "ip6") return NftFamily::ip6;
  if (s == "inet") return NftFamily::inet;
  return std::nullopt;
}

std::string unhex(std::string_view h) {
  if (h.size() % 2) throw Bad{"odd-length hex value"};
  std::string out;
  for (size_t i = 0; i < h.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
    if (ec != std::errc{} || p != h.data() + i + 2) throw Bad{"bad hex value"};
    out.push_back(static_cast<char>(v));
  }
  return out;
}

// "ip filter fwded" -> family, then the remaining words.
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t sp = s.find(' ', start);
    out.emplace_back(
        s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start));
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  return out;
}

void nft_from_json(object o, NftState& n) {
  simdjson::dom::array arr;
  uint64_t handle = 0;  // recorded snapshots carry no handles: number the rules in order
  if (!o["tables"].get_array().get(arr))
    for (element e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) throw Bad{"nft tables must be strings"};
      auto w = words(s);
      auto f = family_of(w[0]);
      if (w.size() != 2 || !f) throw Bad{fmt::format("bad nft table \"{}\"", s)};
      n.tables.push_back({*f, w[1]});
    }
  if (!o["counters"].get_array().get(arr))
    for (element e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) throw Bad{"nft counters must be strings"};
      auto w = words(s);
      auto f = family_of(w[0]);
      if (w.size() != 3 || !f) throw Bad{fmt::format("bad nft counter \"{}\"", s)};
      n.counters.push_back({*f, w[1], w[2], 0, 0});
    }
  if (!o["maps"].get_array().get(arr))
    for (element e : arr) {
      object m = e.get_object();
      auto f = family_of(str(m, "family"));
      if (!f) throw Bad{"bad map family"};
      NftMap map{*f, str(m, "table"), str(m, "name"), true, {}};
      bool typed = true;
      if (!m["typed"].get_bool().get(typed)) map.typed = typed;
      std::string_view kind;
      if (!m["kind"].get_string().get(kind) && kind == "count") map.kind = NftMapKind::count;
      for (element x : m["elements"].get_array()) {
        object eo = x.get_object();
        if (map.kind == NftMapKind::count) {
          auto port = PortRange::parse(str(eo, "port"));
          if (!port) throw Bad{"bad set element"};
          map.elems.push_back(NftMapElem{port->first, port->last, {}, 0, 0, 0, 0});
          continue;
        }
        auto port = PortRange::parse(str(eo, "port"));
        auto to = PortRange::parse(str(eo, "dest_port"));
        auto a = opt_ip(eo, "dest_addr");
        if (!port || !to || !a || !a->is_v4()) throw Bad{"bad map element"};
        NftMapElem el;
        el.first = port->first;
        el.last = port->last;
        std::copy_n(a->bytes.begin(), 4, el.addr.begin());
        el.to_first = to->first;
        el.to_last = to->last;
        map.elems.push_back(el);
      }
      n.maps.push_back(std::move(map));
    }
  if (!o["sets"].get_array().get(arr))
    for (element e : arr) {
      object k = e.get_object();
      auto f = family_of(str(k, "family"));
      if (!f) throw Bad{"bad set family"};
      NftKeySet set{*f, str(k, "table"), str(k, "name"), true, {}};
      bool typed = true;
      if (!k["typed"].get_bool().get(typed)) set.typed = typed;
      for (element x : k["elements"].get_array()) {
        object eo = x.get_object();
        set.elems.push_back({NftKey(unhex(str(eo, "key"))),
                             static_cast<int32_t>(eo["verdict"].get_int64().value()),
                             0,
                             0,
                             {}});
      }
      n.keysets.push_back(std::move(set));
    }
  if (!o["chains"].get_array().get(arr))
    for (element e : arr) {
      object c = e.get_object();
      auto f = family_of(str(c, "family"));
      if (!f) throw Bad{"bad chain family"};
      NftChain chain{*f, str(c, "table"), str(c, "name"), std::nullopt, {}};
      object b;
      if (!c["base"].get_object().get(b))
        chain.base = BaseChain{str(b, "type"), static_cast<uint32_t>(num(b, "hook")),
                               static_cast<int32_t>(b["priority"].get_int64().value()),
                               static_cast<uint32_t>(num(b, "policy"))};
      simdjson::dom::array rules;
      if (!c["rules"].get_array().get(rules))
        for (element re : rules) {
          NftRule r;
          r.handle = ++handle;
          std::vector<NftExpr> exprs;
          for (element ee : re["exprs"].get_array()) {
            NftExpr x{str(ee.get_object(), "name"), {}};
            for (auto [k, v] : ee["attrs"].get_object()) {
              unsigned type = 0;
              std::from_chars(k.data(), k.data() + k.size(), type);
              x.attrs.push_back({static_cast<uint16_t>(type), unhex(v.get_string().value())});
            }
            exprs.push_back(std::move(x));
          }
          r.body = encode_exprs(exprs);
          chain.rules.push_back(std::move(r));
        }
      n.chains.push_back(std::move(chain));
    }
}

}  // namespace

Result<Actual, std::string> actual_from_json(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  object root;
  if (auto err = parser.parse(padded).get_object().get(root))
    return unexpected(std::string(simdjson::error_message(err)));
  Actual a;
  try {
    simdjson::dom::array arr;
    if (!root["links"].get_array().get(arr))
      for (element e : arr) {
        object o = e.get_object();
        Link l{str(o, "name"), str(o, "kind"),  {}, static_cast<uint32_t>(num(o, "mtu")),
               false,          str(o, "master")};
        auto mac = Mac::parse(str(o, "mac"));
        if (!mac) throw Bad{"bad \"mac\""};
        l.mac = *mac;
        bool up;
        if (o["up"].get_bool().get(up)) throw Bad{"\"up\" must be a boolean"};
        l.up = up;
        a.links.push_back(l);
      }
    if (!root["addrs"].get_array().get(arr))
      for (element e : arr) {
        object o = e.get_object();
        a.addrs.push_back({str(o, "dev"), prefix(o, "local"), opt_ip(o, "broadcast"),
                           static_cast<uint8_t>(num(o, "proto"))});
      }
    if (!root["routes"].get_array().get(arr))
      for (element e : arr) {
        object o = e.get_object();
        a.routes.push_back({prefix(o, "dst"), opt_ip(o, "gateway"), str(o, "dev"),
                            static_cast<uint8_t>(num(o, "proto")),
                            static_cast<uint8_t>(num(o, "scope")), opt_ip(o, "prefsrc"),
                            static_cast<uint32_t>(num(o, "priority"))});
      }
    object m;
    if (!root["sysctls"].get_object().get(m))
      for (auto [k, v] : m) {
        std::string_view s;
        if (v.get_string().get(s)) throw Bad{"sysctl values must be strings"};
        a.sysctls[std::string(k)] = std::string(s);
      }
    if (!root["files"].get_object().get(m))
      for (auto [k, v] : m) {
        object o = v.get_object();
        FileInfo f{file_kind(str(o, "kind")), {}};
        if (f.kind == FileKind::regular) f.content = str(o, "content");
        a.files[std::string(k)] = f;
      }
    if (!root["wireguard"].get_array().get(arr))
      for (element e : arr) {
        object o = e.get_object();
        WgDeviceState d{str(o, "name"), static_cast<uint16_t>(num(o, "listen_port")), "", "", {}};
        element k;
        if (!o["private_key"].get(k) && !k.is_null()) d.private_key = kHiddenKey;
        if (auto pk = base64_decode(str(o, "public_key"))) d.public_key = *pk;
        for (element pe : o["peers"].get_array()) {
          object po = pe.get_object();
          WgPeerState p;
          auto pub = base64_decode(str(po, "public_key"));
          if (!pub) throw Bad{"bad peer public_key"};
          p.public_key = *pub;
          p.endpoint = opt_ip(po, "endpoint");
          p.endpoint_port = static_cast<uint16_t>(num(po, "endpoint_port"));
          for (element ip : po["allowed_ips"].get_array()) {
            auto pre = Prefix::parse(std::string_view(ip.get_string().value()));
            if (!pre) throw Bad{"bad allowed_ips entry"};
            p.allowed_ips.push_back(*pre);
          }
          d.peers.push_back(std::move(p));
        }
        a.wireguard.push_back(std::move(d));
      }
    if (!root["fec"].get_object().get(m))
      for (auto [k, v] : m) a.fec[std::string(k)] = std::string(v.get_string().value());
    if (!root["nft"].get_object().get(m)) nft_from_json(m, a.nft);
  } catch (const Bad& b) {
    return unexpected(b.what);
  } catch (const simdjson::simdjson_error& e) {
    return unexpected(std::string(e.what()));
  }
  a.normalize();
  return a;
}

}  // namespace netkeep
