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
  std::vector<PortRun> runs = {};  // their first-match runs; computed here when empty
  // The config's forwardings and runs, read in place of the two above
  // (the planner's: thousands of forwardings are not copied for it).
  const PortForwardings* config = nullptr;
  // false (the planner's): the count sets are made without elements, marked
  // NftMap::keys_of_map; their keys are their forwarding maps' keys.
  bool count_elems = true;
};

NftState desired_ruleset(const NftInputs& in);

// The objects netkeep owns (SPEC §3), by name: those desired_ruleset makes,
// whatever the config (its names never depend on it), and protection's
// (nft_protect.hpp). Tables are shared
// with other programs (netkeep adds them when missing, never deletes them).
bool nft_owned_table(NftFamily family, std::string_view name);
bool nft_owned_chain(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_counter(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_map(NftFamily family, std::string_view table, std::string_view name);
// A forwarding map or count set, or one of protection's sets.
bool nft_owned_set(NftFamily family, std::string_view table, std::string_view name);

inline constexpr const char* kForwardingChain = "router7-portforwardings";
// The maps it dispatches through (ip nat), two per protocol: single ports
// in a hash map (`type inet_service : interval ipv4_addr . inet_service;
// counter`), port ranges in an interval map (the same with `flags
// interval`), named with a "-ranges" suffix. Most forwardings are single
// ports, and the kernel rebuilds an interval set's whole lookup array at
// every commit that changes it, so keeping them out of the interval map
// makes adding one a constant cost. Ranges are disjoint from single ports
// (first match is compiled first), so the order of the lookups is free.
inline constexpr const char* kForwardingMapTcp = "netkeep-portforwardings-tcp";
inline constexpr const char* kForwardingMapUdp = "netkeep-portforwardings-udp";
inline constexpr const char* kForwardingRangesTcp = "netkeep-portforwardings-tcp-ranges";
inline constexpr const char* kForwardingRangesUdp = "netkeep-portforwardings-udp-ranges";
// By IPPROTO_TCP / _UDP; `ranges`: the interval map.
const char* forwarding_map(uint8_t proto, bool ranges);
uint8_t forwarding_map_proto(std::string_view name);  // 0: not a forwarding map
// The forwarded connections' packets and bytes, both directions, are
// counted in netkeep's own table, so router7's ip filter chains keep their
// exact listing: a forward-hook chain looks each DNATed connection's
// original destination port up in count sets per protocol, whose elements
// are the forwarding maps' ports and port intervals, each with a counter
// (again a hash set and an interval set).
inline constexpr const char* kCountTable = "netkeep";
inline constexpr const char* kCountSetTcp = "forwarded-tcp";
inline constexpr const char* kCountSetUdp = "forwarded-udp";
inline constexpr const char* kCountRangesTcp = "forwarded-tcp-ranges";
inline constexpr const char* kCountRangesUdp = "forwarded-udp-ranges";
const char* count_set(uint8_t proto, bool ranges);
uint8_t count_set_proto(std::string_view name);  // 0: not a count set
// Whether an owned map or set holds port ranges (an interval set) rather
// than single ports (a hash set).
bool ranges_set(std::string_view name);
// The map or set of `elem`'s shape: a single port or a range.
inline bool is_range(const NftMapElem& elem) {
  return elem.first != elem.last;
}

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
