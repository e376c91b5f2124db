// The DHCP clients' lease files, as router7's dhcp4 and dhcp6 write them.
#include <fmt/format.h>

#include "model/config_parse.hpp"

namespace netkeep {

namespace {

using json::element;
using json::Object;
using json::Sink;

std::optional<IpAddr> read_ip(Object& o, std::string_view key, Family family, bool required) {
  if (!o.raw(key)) {
    if (required) o.sink().error(o.key_path(key), "missing");
    return std::nullopt;
  }
  auto s = o.string(key);
  if (!s) return std::nullopt;  // wrong type, already reported
  auto a = IpAddr::parse(*s);
  if (!a || a->family != family) {
    o.sink().error(o.key_path(key), fmt::format("\"{}\" is not an {} address", *s,
                                                family == Family::v4 ? "IPv4" : "IPv6"));
    return std::nullopt;
  }
  return a;
}

std::vector<IpAddr> read_dns(Object& o) {
  std::vector<IpAddr> out;
  o.array("dns", [&](element e, const std::string& p) {
    auto s = json::as_string(e, p, o.sink());
    if (!s) return;
    if (auto a = IpAddr::parse(*s))
      out.push_back(*a);
    else
      o.sink().error(p, fmt::format("\"{}\" is not an IP address", *s));
  });
  return out;
}

// "state": absent or "bound" for a lease in force, "ended" for one the
// client ended; nullopt on another value (reported).
std::optional<bool> read_ended(Object& o) {
  auto s = o.string("state");
  if (!s || *s == "bound") return false;  // a wrong type is reported by string()
  if (*s == "ended") return true;
  o.sink().error(o.key_path("state"), fmt::format("\"{}\" is not \"bound\" or \"ended\"", *s));
  return std::nullopt;
}

Timestamp read_valid_until(Object& o) {
  auto s = o.string("valid_until");
  if (!s) return {};
  Timestamp t = parse_rfc3339(*s);
  // Informational only (SPEC §2): a time that does not parse is worth a
  // warning, not a lease thrown away.
  if (t.kind == Timestamp::Kind::invalid)
    o.sink().warn(o.key_path("valid_until"), fmt::format("\"{}\" is not an RFC 3339 time", *s));
  return t;
}

}  // namespace

std::optional<Dhcp4Lease> parse_dhcp4_lease(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* o = doc.root();
  if (!o) return std::nullopt;
  Dhcp4Lease l;
  l.valid_until = read_valid_until(*o);
  auto ended = read_ended(*o);
  // An ended lease's fields only say what it was: none is required.
  const bool required = !ended.value_or(false);
  auto ip = read_ip(*o, "client_ip", Family::v4, required);
  auto mask = read_ip(*o, "subnet_mask", Family::v4, required);
  auto router = read_ip(*o, "router", Family::v4, required);
  l.dns = read_dns(*o);
  o->finish();
  if (mask) {
    if (auto len = mask_length(*mask))
      l.prefix_len = *len;
    else
      sink.error("subnet_mask", fmt::format("\"{}\" is not a contiguous netmask", mask->str()));
  }
  if (sink.errors > 0 || !ended) return std::nullopt;
  l.ended = *ended;
  if (l.ended && (!ip || !mask || !router)) return l;  // what it was is unknown
  if (!ip || !mask || !router) return std::nullopt;
  l.client_ip = *ip;
  l.router = *router;
  return l;
}

std::optional<Dhcp6Lease> parse_dhcp6_lease(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* o = doc.root();
  if (!o) return std::nullopt;
  Dhcp6Lease l;
  l.valid_until = read_valid_until(*o);
  auto ended = read_ended(*o);
  o->array("prefixes", [&](element e, const std::string& p) {
    // Go's encoding of net.IPNet: {"IP": "2001:db8::", "Mask": base64(mask bytes)}.
    auto po = Object::from(e, p, sink);
    if (!po) return;
    auto ip = read_ip(*po, "IP", Family::v6, true);
    std::optional<uint8_t> len;
    if (auto m = po->string("Mask")) {
      auto bytes = base64_decode(*m);
      if (!bytes || bytes->size() != 16)
        sink.error(po->key_path("Mask"),
                   fmt::format("\"{}\" is not the base64 of a 16-byte IPv6 mask", *m));
      else if (!(len = mask_length(*IpAddr::from_bytes(bytes->data(), 16))))
        sink.error(po->key_path("Mask"), fmt::format("\"{}\" is not a contiguous netmask", *m));
      else if (*len > 64)
        sink.error(po->key_path("Mask"),
                   fmt::format("\"{}\" is a /{} prefix; lan0 needs a /64 or shorter", *m, *len));
    } else if (!po->raw("Mask")) {
      sink.error(po->key_path("Mask"), "missing");
    }
    po->finish();
    if (ip && len && *len <= 64) l.prefixes.push_back(Prefix{*ip, *len}.network());
  });
  l.dns = read_dns(*o);
  o->finish();
  if (sink.errors > 0 || !ended) return std::nullopt;
  l.ended = *ended;
  return l;
}

}  // namespace netkeep
