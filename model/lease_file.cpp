#include "model/lease_file.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "model/config.hpp"
#include "model/json_out.hpp"

namespace netkeep {

namespace {

IpAddr mask_of(Family f, uint8_t len) {
  IpAddr m;
  m.family = f;
  for (int i = 0; i < m.size(); i++) {
    const int bits = std::clamp(len - i * 8, 0, 8);
    m.bytes[i] = static_cast<uint8_t>(0xff00 >> bits);
  }
  return m;
}

std::string time_of(const Timestamp& t) {
  return json::quote(t.kind == Timestamp::Kind::time ? format_rfc3339(t.unix_seconds) : kGoZeroTime);
}

std::string dns_of(const std::vector<IpAddr>& dns) {
  std::string out;
  for (const auto& a : dns) out += (out.empty() ? "" : ",") + json::quote(a.str());
  return "[" + out + "]";
}

std::string state_of(bool ended) { return ended ? ",\"state\":\"ended\"" : ""; }

template <class Lease>
std::string summary(const ConfigFile<Lease>& f, const std::string& what, int64_t now) {
  if (f.state == FileState::missing) return "none (no lease file: no DHCP client has run yet)";
  if (f.state == FileState::invalid) return "invalid (netkeep plan names the error)";
  if (f.value.ended) return what.empty() ? "ended" : fmt::format("ended ({})", what);
  const Timestamp& t = f.value.valid_until;
  if (t.kind != Timestamp::Kind::time) return fmt::format("{}, no end time", what);
  const int64_t left = t.unix_seconds - now;
  return fmt::format("{}, valid until {} ({})", what, format_rfc3339(t.unix_seconds),
                     left >= 0 ? fmt::format("{} s left", left)
                               : fmt::format("expired {} s ago: not acted on; is the DHCP "
                                             "client running?",
                                             -left));
}

template <class Lease>
int64_t valid_until(const ConfigFile<Lease>& f) {
  const Timestamp& t = f.value.valid_until;
  return f.ok() && !f.value.ended && t.kind == Timestamp::Kind::time ? t.unix_seconds : 0;
}

}  // namespace

std::string lease_what(const Dhcp4Lease& l) {
  if (l.prefix_len == 0) return {};  // an ended lease whose fields are unknown
  return fmt::format("{}/{} via {}", l.client_ip.str(), l.prefix_len, l.router.str());
}

std::string lease_what(const Dhcp6Lease& l) {
  std::string what;
  for (const auto& p : l.prefixes) what += (what.empty() ? "" : " ") + p.str();
  return what;
}

std::string lease_summary(const ConfigFile<Dhcp4Lease>& f, int64_t now) {
  return summary(f, lease_what(f.value), now);
}

std::string lease_summary(const ConfigFile<Dhcp6Lease>& f, int64_t now) {
  const std::string what = lease_what(f.value);
  return summary(f, what.empty() && !f.value.ended ? "no prefix" : what, now);
}

namespace {

template <class Lease>
std::string state_json(const ConfigFile<Lease>& f, int64_t now) {
  if (f.state == FileState::missing) return R"("state": "missing")";
  if (f.state == FileState::invalid) return R"("state": "invalid")";
  std::string out = f.value.ended ? R"("state": "ended")" : R"("state": "in force")";
  const Timestamp& t = f.value.valid_until;
  if (t.kind == Timestamp::Kind::time)
    out += fmt::format(R"(, "valid_until": {}, "seconds_left": {})", time_of(t),
                       t.unix_seconds - now);
  return out;
}

}  // namespace

std::string leases_json(const Leases& l, int64_t now) {
  std::string v4 = state_json(l.dhcp4, now);
  const Dhcp4Lease& a = l.dhcp4.value;
  if (l.dhcp4.ok() && a.prefix_len > 0)
    v4 += fmt::format(R"(, "address": "{}/{}", "router": "{}")", a.client_ip.str(), a.prefix_len,
                      a.router.str());
  std::string v6 = state_json(l.dhcp6, now);
  if (l.dhcp6.ok()) {
    std::string prefixes;
    for (const auto& p : l.dhcp6.value.prefixes)
      prefixes += (prefixes.empty() ? "" : ", ") + json::quote(p.str());
    v6 += fmt::format(R"(, "prefixes": [{}])", prefixes);
  }
  return fmt::format("{{\"dhcp4\": {{{}}}, \"dhcp6\": {{{}}}}}", v4, v6);
}

int64_t lease_valid_until(const ConfigFile<Dhcp4Lease>& f) { return valid_until(f); }
int64_t lease_valid_until(const ConfigFile<Dhcp6Lease>& f) { return valid_until(f); }

std::string render_dhcp4_lease(const Dhcp4Lease& l) {
  // An ended lease whose fields are unknown says only that.
  if (l.ended && l.client_ip == IpAddr{} && l.prefix_len == 0)
    return fmt::format("{{\"valid_until\":{}{}}}", time_of(l.valid_until), state_of(true));
  return fmt::format(
      "{{\"valid_until\":{},\"client_ip\":{},\"subnet_mask\":{},\"router\":{},\"dns\":{}{}}}",
      time_of(l.valid_until), json::quote(l.client_ip.str()),
      json::quote(mask_of(Family::v4, l.prefix_len).str()), json::quote(l.router.str()),
      dns_of(l.dns), state_of(l.ended));
}

std::string render_dhcp6_lease(const Dhcp6Lease& l) {
  std::string prefixes;
  for (const auto& p : l.prefixes) {
    const IpAddr m = mask_of(Family::v6, p.len);
    prefixes += fmt::format(
        "{}{{\"IP\":{},\"Mask\":{}}}", prefixes.empty() ? "" : ",", json::quote(p.addr.str()),
        json::quote(base64_encode({reinterpret_cast<const char*>(m.bytes.data()), 16})));
  }
  return fmt::format("{{\"valid_until\":{},\"prefixes\":[{}],\"dns\":{}{}}}",
                     time_of(l.valid_until), prefixes, dns_of(l.dns), state_of(l.ended));
}

}  // namespace netkeep
