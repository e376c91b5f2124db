#include "model/config_ports.hpp"

#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>

namespace netkeep::ports {

std::optional<PortRange> read_range(json::Object& o, std::string_view key) {
  auto s = o.string(key);
  if (!s) {
    if (!o.raw(key)) o.sink().error(o.key_path(key), "missing");
    return std::nullopt;
  }
  auto r = PortRange::parse(*s);
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

std::optional<Protos> read_protos(json::Object& o) {
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

}  // namespace netkeep::ports
