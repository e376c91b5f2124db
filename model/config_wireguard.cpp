// wireguard.json: devices, keys and peers. A private key's value never
// appears in a message, not even when it is malformed.
#include <fmt/format.h>

#include <charconv>

#include "model/config_parse.hpp"

namespace netkeep {

std::string WgEndpoint::str() const {
  std::string h = addr ? addr->str() : host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return fmt::format("{}:{}", h, port);
}

namespace {

using json::element;
using json::Object;
using json::Sink;

std::optional<std::string> read_key(Object& o, std::string_view key, bool secret) {
  auto s = o.string(key);
  if (!s) {
    if (!o.raw(key)) o.sink().error(o.key_path(key), "missing");
    return std::nullopt;
  }
  auto bytes = base64_decode(*s);
  if (!bytes || bytes->size() != 32) {
    o.sink().error(o.key_path(key),
                   secret ? std::string("is not the base64 of 32 bytes (value hidden)")
                          : fmt::format("\"{}\" is not the base64 of 32 bytes", *s));
    return std::nullopt;
  }
  return bytes;
}

// "IP:port", "[IPv6]:port" or "hostname:port".
std::optional<WgEndpoint> parse_endpoint(std::string_view s, const std::string& path, Sink& sink) {
  auto fail = [&](const char* why) {
    sink.error(path, fmt::format("\"{}\" {}", s, why));
    return std::nullopt;
  };
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return fail("has no port (expected HOST:PORT)");
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.back() != ']') return fail("is not [IPv6]:PORT");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return fail("has an IPv6 address without brackets (expected [IPv6]:PORT)");
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535)
    return fail("has no valid port (1-65535)");
  if (host.empty()) return fail("has no host");
  WgEndpoint e{std::string(host), static_cast<uint16_t>(p), IpAddr::parse(host)};
  return e;
}

std::optional<WgPeerSpec> read_peer(element e, const std::string& path, Sink& sink) {
  auto o = Object::from(e, path, sink);
  if (!o) return std::nullopt;
  int errors = sink.errors;
  WgPeerSpec p;
  if (auto k = read_key(*o, "public_key", false)) p.public_key = *k;
  if (auto ep = o->string("endpoint"); ep && !ep->empty())
    p.endpoint = parse_endpoint(*ep, o->key_path("endpoint"), sink);
  o->array("allowed_ips", [&](element item, const std::string& ip_path) {
    auto str = json::as_string(item, ip_path, sink);
    if (!str) return;
    auto pre = Prefix::parse(*str);
    if (!pre)
      sink.error(ip_path, fmt::format("\"{}\" is not a prefix (ADDRESS/LEN)", *str));
    else
      p.allowed_ips.push_back(pre->network());
  });
  o->finish();
  if (sink.errors > errors) return std::nullopt;
  return p;
}

}  // namespace

std::optional<WireGuardConfig> parse_wireguard(std::string_view text, Sink& sink) {
  json::Document doc(text, sink);
  Object* root = doc.root();
  if (!root) return std::nullopt;
  WireGuardConfig c;
  root->array("interfaces", [&](element e, const std::string& path) {
    auto o = Object::from(e, path, sink);
    if (!o) return;
    int errors = sink.errors;
    WgInterfaceSpec w;
    if (auto n = o->string("name")) {
      if (!valid_ifname(*n))
        sink.error(o->key_path("name"),
                   fmt::format("\"{}\" is not a valid interface name (1-15 bytes, no '/', ':' "
                               "or whitespace, not . or ..)",
                               *n));
      w.name = *n;
    } else if (!o->raw("name")) {
      sink.error(o->key_path("name"), "missing");
    }
    if (auto k = read_key(*o, "private_key", true)) w.private_key.bytes = *k;
    if (auto port = o->integer("port")) {
      if (*port < 0 || *port > 65535)
        sink.error(o->key_path("port"), fmt::format("{} is not a port (0-65535)", *port));
      else
        w.port = static_cast<uint16_t>(*port);
    }
    o->array("peers", [&](element pe, const std::string& pp) {
      if (auto peer = read_peer(pe, pp, sink)) w.peers.push_back(std::move(*peer));
    });
    o->finish();
    if (sink.errors == errors) c.interfaces.push_back(std::move(w));
  });
  root->finish();
  // Two devices of one name would be two conflicting settings of one link.
  for (size_t i = 0; i < c.interfaces.size(); i++)
    for (size_t j = 0; j < i; j++)
      if (c.interfaces[i].name == c.interfaces[j].name) {
        sink.error(
            json::join(json::index("interfaces", i), "name"),
            fmt::format("\"{}\" is already the name of interfaces[{}]", c.interfaces[i].name, j));
        break;
      }
  if (sink.errors > 0) return std::nullopt;
  return c;
}

void resolve_endpoints(Desired& d,
                       const std::function<std::optional<IpAddr>(const std::string&)>& resolve,
                       Diagnostics& diags) {
  if (!d.wireguard.ok()) return;
  for (auto& w : d.wireguard.value.interfaces)
    for (auto& p : w.peers)
      if (p.endpoint && !p.endpoint->addr) {
        p.endpoint->addr = resolve(p.endpoint->host);
        if (!p.endpoint->addr)
          diags.push_back(
              {Severity::warning, kWireGuardFile, "",
               fmt::format("{}: endpoint host \"{}\" does not resolve", w.name, p.endpoint->host)});
      }
}

}  // namespace netkeep
