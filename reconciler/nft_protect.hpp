// Protection of the LAN and of the router from what arrives on the uplink
// (firewall.json; SPEC §2 and §3): the objects netkeep makes for it in its
// own tables, `ip netkeep` and `ip6 netkeep`, one set per family.
//
//   map ct-state        ct_state : verdict   invalid drop, established
//                                            and related accept
//   set pinholes        daddr . l4proto . dport, a counter per element
//   set open            l4proto . dport, a counter per element
//   counter lan-dropped, lan-rejected, router-dropped, router-rejected
//   chain protect-lan     hook forward, priority 0, policy accept
//   chain protect-router  hook input, priority 0, policy accept
//
// Both chains let through what does not come in on the uplink, then look
// the connection's state up (`ct state vmap @ct-state`), accept what must
// pass, look the packet up once in the exact-match set, and end in a
// counted reset (TCP) or a counted drop. Per packet the cost is the same
// for 10 pinholes as for 10,000: one hash lookup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/desired.hpp"
#include "model/nft.hpp"
#include "reconciler/pinhole_keys.hpp"
#include "reconciler/protect_words.hpp"

namespace netkeep {

inline constexpr const char* kProtectTable = "netkeep";  // in ip and ip6
inline constexpr const char* kCtStateMap = "ct-state";
inline constexpr const char* kPinholeSet = "pinholes";
inline constexpr const char* kOpenSet = "open";
inline constexpr const char* kProtectLanChain = "protect-lan";
inline constexpr const char* kProtectRouterChain = "protect-router";
// ct state bits (NF_CT_STATE_INVALID_BIT, NF_CT_STATE_BIT(IP_CT_ESTABLISHED)
// and (IP_CT_RELATED)), as a ct_state key holds them, in host order.
inline constexpr uint32_t kCtInvalid = 1, kCtEstablished = 2, kCtRelated = 4;

struct ProtectInputs {
  const FirewallConfig* firewall = nullptr;  // none: no protection objects
  std::string uplink;
  std::vector<Prefix> delegated;   // lan0's /64s: the dhcp6 lease's prefixes
  std::vector<uint16_t> wg_ports;  // wireguard.json's listen ports, opened
  // The daemon's, kept from one plan to the next: made by keep_pinhole_keys
  // (plan_protect.hpp) from the same firewall.json and lease.
  const PinholeKeys* keys = nullptr;
};

// The hosts a pinhole opens: its dest_addr, or its dest_iid on each of
// `delegated` (lan0's /64s).
std::vector<IpAddr> pinhole_hosts(const Pinhole& p, const std::vector<Prefix>& delegated);

// Adds the protection objects to `s` (a desired ruleset); returns the
// warnings (a dest_iid pinhole while no prefix is leased).
std::vector<std::string> add_protection(const ProtectInputs& in, NftState& s);

// Whether an object is one of protection's, by name (whatever the config).
bool protect_chain(NftFamily family, std::string_view table, std::string_view name);
bool protect_counter(NftFamily family, std::string_view table, std::string_view name);
bool protect_keyset(NftFamily family, std::string_view table, std::string_view name);

}  // namespace netkeep
