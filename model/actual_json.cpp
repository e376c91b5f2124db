#include "model/actual_json.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>

#include "model/json_out.hpp"

namespace netkeep {

using json::quote;

const Link* Actual::link(std::string_view name) const {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

void Actual::normalize() {
  std::sort(links.begin(), links.end());
  std::sort(addrs.begin(), addrs.end());
  std::sort(routes.begin(), routes.end());
}

namespace {

std::string opt_ip(const std::optional<IpAddr>& a) { return a ? quote(a->str()) : "null"; }

const char* file_kind_name(FileKind k) {
  switch (k) {
    case FileKind::missing: return "missing";
    case FileKind::regular: return "regular";
    case FileKind::symlink: return "symlink";
    case FileKind::other: return "other";
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

}  // namespace

std::string to_json(const Actual& a) {
  std::string out = "{\n";
  write_list(out, "links", a.links, [](const Link& l) {
    return fmt::format(R"({{"name": {}, "kind": {}, "mac": "{}", "mtu": {}, "up": {}, "master": {}}})",
                       quote(l.name), quote(l.kind), l.mac.str(), l.mtu, l.up, quote(l.master));
  }, false);
  write_list(out, "addrs", a.addrs, [](const Address& x) {
    return fmt::format(R"({{"dev": {}, "local": "{}", "broadcast": {}, "proto": {}}})",
                       quote(x.dev), x.local.str(), opt_ip(x.broadcast), x.proto);
  }, false);
  write_list(out, "routes", a.routes, [](const Route& r) {
    return fmt::format(
        R"({{"dst": "{}", "gateway": {}, "dev": {}, "proto": {}, "scope": {}, "prefsrc": {}, "priority": {}}})",
        r.dst.str(), opt_ip(r.gateway), quote(r.dev), r.proto, r.scope, opt_ip(r.prefsrc),
        r.priority);
  }, false);
  out += "  \"sysctls\": {";
  size_t i = 0;
  for (const auto& [k, v] : a.sysctls) out += fmt::format("{}\n    {}: {}", i++ ? "," : "", quote(k), quote(v));
  out += a.sysctls.empty() ? "},\n" : "\n  },\n";
  out += "  \"files\": {";
  i = 0;
  for (const auto& [k, f] : a.files) {
    out += fmt::format("{}\n    {}: {{\"kind\": \"{}\"", i++ ? "," : "", quote(k), file_kind_name(f.kind));
    if (f.kind == FileKind::regular) out += fmt::format(", \"content\": {}", quote(f.content));
    out += "}";
  }
  out += a.files.empty() ? "}\n" : "\n  }\n";
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

}  // namespace

std::optional<Actual> actual_from_json(std::string_view text, std::string& error) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  object root;
  if (auto err = parser.parse(padded).get_object().get(root)) {
    error = simdjson::error_message(err);
    return std::nullopt;
  }
  Actual a;
  try {
    simdjson::dom::array arr;
    if (!root["links"].get_array().get(arr))
      for (element e : arr) {
        object o = e.get_object();
        Link l{str(o, "name"), str(o, "kind"), {}, static_cast<uint32_t>(num(o, "mtu")), false,
               str(o, "master")};
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
  } catch (const Bad& b) {
    error = b.what;
    return std::nullopt;
  } catch (const simdjson::simdjson_error& e) {
    error = e.what();
    return std::nullopt;
  }
  a.normalize();
  return a;
}

}  // namespace netkeep
