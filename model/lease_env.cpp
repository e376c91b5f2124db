#include "model/lease_env.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace netkeep {

std::string EnvError::str() const {
  return value.empty() && problem == "missing" ? fmt::format("{}: missing", variable)
                                               : fmt::format("{}=\"{}\": {}", variable, value, problem);
}

namespace {

using Err = Unexpected<EnvError>;

Err bad(std::string_view var, std::string_view value, std::string problem) {
  return unexpected(EnvError{std::string(var), std::string(value), std::move(problem)});
}

const std::string* get(const Env& env, std::string_view var) {
  auto it = env.find(var);
  return it == env.end() ? nullptr : &it->second;
}

// Words separated by spaces (dhcpcd and udhcpc list addresses that way).
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') i++;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') j++;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Result<IpAddr, EnvError> address(const Env& env, std::string_view var, Family f) {
  const std::string* v = get(env, var);
  if (!v) return bad(var, "", "missing");
  auto a = IpAddr::parse(*v);
  if (!a || a->family != f)
    return bad(var, *v, f == Family::v4 ? "not an IPv4 address" : "not an IPv6 address");
  return *a;
}

// A list of addresses of family `f`; absent is empty, any bad entry an error.
Result<std::vector<IpAddr>, EnvError> address_list(const Env& env, std::string_view var, Family f) {
  std::vector<IpAddr> out;
  const std::string* v = get(env, var);
  if (!v) return out;
  for (auto w : words(*v)) {
    auto a = IpAddr::parse(w);
    if (!a || a->family != f)
      return bad(var, *v, fmt::format("\"{}\" is not an {} address", w,
                                      f == Family::v4 ? "IPv4" : "IPv6"));
    out.push_back(*a);
  }
  return out;
}

// A lifetime in seconds, relative, as DHCP carries it (32 bits):
// 1 to 4294967295, the last meaning infinity (RFC 2131 §3.3, RFC 8415
// §7.7). `zero_ok` for DHCPv6 lifetimes, where 0 withdraws a prefix.
Result<uint32_t, EnvError> lifetime(const Env& env, std::string_view var, bool zero_ok) {
  const std::string* v = get(env, var);
  if (!v) return bad(var, "", "missing");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n > 0xffffffffu)
    return bad(var, *v, "not a lifetime in seconds (0-4294967295)");
  if (n == 0 && !zero_ok) return bad(var, *v, "a lease of 0 seconds");
  return static_cast<uint32_t>(n);
}

Timestamp until(int64_t now, uint32_t seconds) {
  if (seconds == 0xffffffffu) return {};  // infinite: no time (Go's zero time)
  return {Timestamp::Kind::time, now + seconds};
}

Result<uint8_t, EnvError> prefix_length(const Env& env, std::string_view var, int max) {
  const std::string* v = get(env, var);
  if (!v) return bad(var, "", "missing");
  unsigned n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n < 1 ||
      n > static_cast<unsigned>(max))
    return bad(var, *v, fmt::format("not a prefix length (1-{})", max));
  return static_cast<uint8_t>(n);
}

// DHCPv4: address, mask (dotted, or a prefix length), routers, servers, lifetime.
struct V4Names {
  std::string_view ip, mask, cidr, routers, dns, lease;
};

Result<Dhcp4Lease, EnvError> read_v4(const Env& env, const V4Names& n, int64_t now) {
  Dhcp4Lease l;
  auto ip = address(env, n.ip, Family::v4);
  if (!ip) return unexpected(ip.error());
  l.client_ip = *ip;
  if (get(env, n.mask)) {
    auto mask = address(env, n.mask, Family::v4);
    if (!mask) return unexpected(mask.error());
    auto len = mask_length(*mask);
    if (!len || *len == 0) return bad(n.mask, *get(env, n.mask), "not a contiguous netmask");
    l.prefix_len = *len;
  } else if (!n.cidr.empty() && get(env, n.cidr)) {
    auto len = prefix_length(env, n.cidr, 32);
    if (!len) return unexpected(len.error());
    l.prefix_len = *len;
  } else {
    return bad(n.mask, "", "missing");
  }
  auto routers = address_list(env, n.routers, Family::v4);
  if (!routers) return unexpected(routers.error());
  // router7's lease names one router; a lease without one cannot route.
  if (routers->empty()) return bad(n.routers, "", "missing");
  l.router = routers->front();
  auto dns = address_list(env, n.dns, Family::v4);
  if (!dns) return unexpected(dns.error());
  l.dns = std::move(*dns);
  auto secs = lifetime(env, n.lease, false);
  if (!secs) return unexpected(secs.error());
  l.valid_until = until(now, *secs);
  return l;
}

// dhcpcd's delegated prefixes: new_dhcp6_ia_pd<I>_prefix<J> with _length,
// _pltime and _vltime beside it. A valid lifetime of 0 withdraws a prefix
// (RFC 8415 §18.2.10.1).
bool is_pd_prefix(std::string_view var) {
  auto number = [&](std::string_view lead) {
    if (!var.starts_with(lead)) return false;
    var.remove_prefix(lead.size());
    size_t n = 0;
    while (n < var.size() && var[n] >= '0' && var[n] <= '9') n++;
    var.remove_prefix(n);
    return n > 0;
  };
  return number("new_dhcp6_ia_pd") && number("_prefix") && var.empty();
}

Result<Dhcp6Lease, EnvError> read_v6(const Env& env, int64_t now) {
  Dhcp6Lease l;
  std::optional<uint32_t> shortest;
  for (const auto& [var, value] : env) {
    if (!is_pd_prefix(var)) continue;
    auto ip = address(env, var, Family::v6);
    if (!ip) return unexpected(ip.error());
    // lan0 gets an address from the first /64: a longer prefix is of no use.
    auto len = prefix_length(env, var + "_length", 64);
    if (!len) return unexpected(len.error());
    auto vl = lifetime(env, var + "_vltime", true);
    if (!vl) return unexpected(vl.error());
    if (*vl == 0) continue;
    l.prefixes.push_back(Prefix{*ip, *len}.network());
    shortest = std::min(shortest.value_or(*vl), *vl);
  }
  std::sort(l.prefixes.begin(), l.prefixes.end());
  auto dns = address_list(env, "new_dhcp6_name_servers", Family::v6);
  if (!dns) return unexpected(dns.error());
  l.dns = std::move(*dns);
  if (shortest) l.valid_until = until(now, *shortest);
  return l;
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

}  // namespace

Result<LeaseAction, EnvError> dhcpcd_action(const Env& env, int64_t now, DhcpcdSaved saved) {
  const std::string* reason = get(env, "reason");
  if (!reason) return bad("reason", "", "missing");
  LeaseAction a;
  if (one_of(*reason, {"BOUND", "RENEW", "REBIND", "REBOOT"})) {
    auto l = read_v4(env,
                     {"new_ip_address", "new_subnet_mask", "new_subnet_cidr", "new_routers",
                      "new_domain_name_servers", "new_dhcp_lease_time"},
                     now);
    if (!l) return unexpected(l.error());
    a.v4 = LeaseAction::Kind::bind;
    a.lease4 = std::move(*l);
  } else if (one_of(*reason, {"EXPIRE", "RELEASE", "NAK"}) || (*reason == "STOP" && !saved.lease4)) {
    a.v4 = LeaseAction::Kind::end;
  } else if (one_of(*reason, {"BOUND6", "RENEW6", "REBIND6", "REBOOT6"})) {
    auto l = read_v6(env, now);
    if (!l) return unexpected(l.error());
    // A reply with addresses but no delegated prefix says nothing of lan0;
    // every prefix withdrawn (valid lifetime 0) ends the lease.
    bool withdrawn = false;
    for (const auto& [var, value] : env)
      if (var.starts_with("new_dhcp6_ia_pd") && var.ends_with("_vltime")) withdrawn = true;
    if (!l->prefixes.empty()) {
      a.v6 = LeaseAction::Kind::bind;
      a.lease6 = std::move(*l);
    } else if (withdrawn) {
      a.v6 = LeaseAction::Kind::end;
    }
  } else if (one_of(*reason, {"EXPIRE6", "RELEASE6"}) || (*reason == "STOP6" && !saved.lease6)) {
    a.v6 = LeaseAction::Kind::end;
  }
  return a;
}

Result<LeaseAction, EnvError> udhcpc_action(std::string_view event, const Env& env, int64_t now,
                                            bool bound_by_this_run) {
  LeaseAction a;
  if (event == "bound" || event == "renew") {
    auto l = read_v4(env, {"ip", "subnet", "mask", "router", "dns", "lease"}, now);
    if (!l) return unexpected(l.error());
    a.v4 = LeaseAction::Kind::bind;
    a.lease4 = std::move(*l);
  } else if (event == "nak" || ((event == "deconfig" || event == "leasefail") && bound_by_this_run)) {
    a.v4 = LeaseAction::Kind::end;
  } else if (event != "deconfig" && event != "leasefail") {
    return bad("EVENT", event, "not an udhcpc event (deconfig, bound, renew, leasefail, nak)");
  }
  return a;
}

}  // namespace netkeep
