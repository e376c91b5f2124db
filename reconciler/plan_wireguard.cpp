// WireGuard devices and FEC: the parts of the link phase that talk generic
// netlink. A device is set only when something differs, and then whole.
#include <fmt/format.h>

#include <algorithm>

#include "model/config.hpp"
#include "reconciler/plan.hpp"

namespace netkeep {

namespace {

std::string prefixes(std::vector<Prefix> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (const auto& p : v) out += (out.empty() ? "" : ",") + p.str();
  return out.empty() ? "(none)" : out;
}

std::string endpoint_of(const WgPeerState& p) {
  if (!p.endpoint) return "(none)";
  return WgEndpoint{p.endpoint->str(), p.endpoint_port, p.endpoint}.str();
}

// What differs between the configured device and the kernel's, in words.
// Private keys are compared, never shown.
std::vector<std::string> wg_changes(const WgInterfaceSpec& want, const WgDeviceState* have) {
  std::vector<std::string> out;
  if (!have || (have->private_key != kHiddenKey && have->private_key != want.private_key.bytes))
    out.push_back("private key (hidden)");
  uint16_t port = have ? have->listen_port : 0;
  if (port != want.port) out.push_back(fmt::format("listen port {} -> {}", port, want.port));
  for (const auto& p : want.peers) {
    const WgPeerState* h = nullptr;
    if (have)
      for (const auto& x : have->peers)
        if (x.public_key == p.public_key) h = &x;
    std::string key = base64_encode(p.public_key);
    std::string want_ep = p.endpoint && p.endpoint->addr ? p.endpoint->str() : "(none)";
    if (!h) {
      out.push_back(fmt::format("+ peer {} endpoint {} allowed-ips {}", key, want_ep,
                                prefixes(p.allowed_ips)));
      continue;
    }
    std::vector<Prefix> have_ips = h->allowed_ips, want_ips = p.allowed_ips;
    std::sort(have_ips.begin(), have_ips.end());
    std::sort(want_ips.begin(), want_ips.end());
    if (have_ips != want_ips)
      out.push_back(fmt::format("~ peer {} allowed-ips {} -> {}", key, prefixes(have_ips),
                                prefixes(want_ips)));
    // A peer without a configured endpoint may roam: its endpoint is the kernel's.
    if (p.endpoint && p.endpoint->addr &&
        (h->endpoint != p.endpoint->addr || h->endpoint_port != p.endpoint->port))
      out.push_back(fmt::format("~ peer {} endpoint {} -> {}", key, endpoint_of(*h), want_ep));
  }
  if (have)
    for (const auto& h : have->peers)
      if (std::none_of(want.peers.begin(), want.peers.end(),
                       [&](const WgPeerSpec& p) { return p.public_key == h.public_key; }))
        out.push_back(fmt::format("- peer {}", base64_encode(h.public_key)));
  return out;
}

}  // namespace

void plan_wireguard(const Desired& d, const Actual& actual, const LinkView& v, Plan& p) {
  if (!d.wireguard.ok()) return;
  for (const auto& w : d.wireguard.value.interfaces) {
    if (!v.exists(w.name)) continue;
    // A link of that name that is something else (a NIC, a veth, a bridge
    // nobody configured) is never made a WireGuard device behind its back.
    const Link* l = actual.link(v.before(w.name));
    if (l && l->kind != "wireguard") {
      p.warnings.push_back(fmt::format(
          "wireguard.json: {} is a {} link, not a WireGuard device; its WireGuard settings are "
          "not applied (rename or remove that link, or the entry)",
          w.name, l->kind.empty() ? "physical" : l->kind));
      continue;
    }
    const WgDeviceState* have = nullptr;
    for (const auto& x : actual.wireguard)
      if (x.name == w.name) have = &x;
    auto changes = wg_changes(w, have);
    if (!changes.empty()) p.ops.push_back(WgSetDevice{w, std::move(changes)});
  }
}

void plan_fec(const Desired& d, const Actual& actual, const LinkView& v, Plan& p) {
  if (!d.interfaces.ok()) return;
  for (const InterfaceSpec* s : v.matched) {
    if (s->fec.empty()) continue;
    std::string now_named = v.before(s->name);
    auto it = actual.fec.find(now_named);
    if (it == actual.fec.end()) continue;  // not read: the link is made in this plan
    if (it->second == "unsupported") {
      p.warnings.push_back(fmt::format(
          "link {}: the driver does not support FEC; fec \"{}\" not applied", s->name, s->fec));
      continue;
    }
    if (it->second != s->fec) p.ops.push_back(FecSet{s->name, it->second, s->fec});
  }
}

}  // namespace netkeep
