// The nftables ruleset netkeep owns (SPEC §3), built as the expressions nft
// 1.0 would send for the same text, so a ruleset loaded with `nft -f` or
// made by an earlier netkeep is adopted with no change.
#pragma once

#include <optional>
#include <string>

#include "model/desired.hpp"
#include "model/nft.hpp"

namespace netkeep {

struct NftInputs {
  std::string uplink;         // oifname of the masquerade and MSS rules
  std::optional<Prefix> lan;  // lan0's configured prefix: excluded from DNAT
  std::vector<Forwarding> forwardings;
};

NftState desired_ruleset(const NftInputs& in);

// The objects netkeep owns (SPEC §3), by name: those desired_ruleset makes,
// whatever the config (its names never depend on it). Tables are shared
// with other programs (netkeep adds them when missing, never deletes them).
bool nft_owned_table(NftFamily family, std::string_view name);
bool nft_owned_chain(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_counter(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_map(NftFamily family, std::string_view table, std::string_view name);

inline constexpr const char* kForwardingChain = "router7-portforwardings";
// The maps it dispatches through, one per protocol (ip nat).
inline constexpr const char* kForwardingMapTcp = "netkeep-portforwardings-tcp";
inline constexpr const char* kForwardingMapUdp = "netkeep-portforwardings-udp";
const char* forwarding_map(uint8_t proto);            // by IPPROTO_TCP / _UDP
uint8_t forwarding_map_proto(std::string_view name);  // 0: not a forwarding map
// The forwarded connections' packets and bytes, both directions, are
// counted in netkeep's own table, so router7's ip filter chains keep their
// exact listing: a forward-hook chain looks each DNATed connection's
// original destination port up in a set per protocol, whose elements are
// the forwarding maps' port intervals, each with a counter.
inline constexpr const char* kCountTable = "netkeep";
inline constexpr const char* kCountSetTcp = "forwarded-tcp";
inline constexpr const char* kCountSetUdp = "forwarded-udp";
const char* count_set(uint8_t proto);            // by IPPROTO_TCP / _UDP
uint8_t count_set_proto(std::string_view name);  // 0: not a count set

// Each port interval a forwarding wins, with its counts: connections from
// its forwarding map element, packets and bytes from its count set's.
struct ForwardingCounts {
  uint8_t proto = 6;
  NftMapElem elem;  // the map's element: ports and destination
  uint64_t connections = 0, packets = 0, bytes = 0;
};
// From forwarding maps and count sets as NftKernel reads them (in any order).
std::vector<ForwardingCounts> forwarding_counts(const std::vector<NftMap>& maps);

}  // namespace netkeep
