// Port forwarding in nftables (SPEC §3; docs/nftables.md): the dispatch
// chain and its maps, one per protocol and shape of forwarding, and the
// count sets that count the forwarded connections' traffic. Built as the
// expressions nft 1.0 sends for the same text (nft_desired.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "model/desired.hpp"
#include "model/nft.hpp"

namespace netkeep {

inline constexpr const char* kForwardingChain = "router7-portforwardings";
// The maps it dispatches through (ip nat), three per protocol, one per
// shape of what a port run maps to:
//   port           a single port to a port: a hash map, `type inet_service
//                  : ipv4_addr . inet_service; counter`
//   range          a port range to itself: an interval map, `type
//                  inet_service : interval ipv4_addr . inet_service; flags
//                  interval; counter` ("-ranges")
//   range_to_port  a port range to one port: an interval map whose data is
//                  one port, `type inet_service : ipv4_addr .
//                  inet_service; flags interval; counter` ("-ranges-to-port")
// Most forwardings are single ports, and the kernel rebuilds an interval
// set's whole lookup array at every commit that changes it, so keeping
// them out of the interval maps makes adding one a constant cost. A map's
// data is an interval only where it is one: nft prints a one-port interval
// as a plain value and reads it back as one, which the kernel refuses in
// an interval map, so `nft list ruleset > f; nft -f f` would fail on it.
// The shapes' port runs are disjoint (first match is compiled first), so
// the order of the lookups is free.
enum class FwdShape : uint8_t { port, range, range_to_port };
inline constexpr FwdShape kFwdShapes[] = {FwdShape::port, FwdShape::range, FwdShape::range_to_port};
// The shape of a map element: its key interval and its data.
inline FwdShape shape_of(const NftMapElem& e) {
  return e.first == e.last         ? FwdShape::port
         : e.to_first == e.to_last ? FwdShape::range_to_port
                                   : FwdShape::range;
}
inline constexpr const char* kForwardingMapTcp = "netkeep-portforwardings-tcp";
inline constexpr const char* kForwardingMapUdp = "netkeep-portforwardings-udp";
inline constexpr const char* kForwardingRangesTcp = "netkeep-portforwardings-tcp-ranges";
inline constexpr const char* kForwardingRangesUdp = "netkeep-portforwardings-udp-ranges";
inline constexpr const char* kForwardingToPortTcp = "netkeep-portforwardings-tcp-ranges-to-port";
inline constexpr const char* kForwardingToPortUdp = "netkeep-portforwardings-udp-ranges-to-port";
// By IPPROTO_TCP / _UDP and shape.
const char* forwarding_map(uint8_t proto, FwdShape shape);
uint8_t forwarding_map_proto(std::string_view name);  // 0: not a forwarding map
// The forwarded connections' packets and bytes, both directions, are
// counted in netkeep's own table, so router7's ip filter chains keep their
// exact listing: a forward-hook chain looks each DNATed connection's
// original destination port up in count sets, one per forwarding map,
// whose elements are that map's ports or port intervals, each with a
// counter (a hash set or an interval set, as the map).
inline constexpr const char* kCountTable = "netkeep";
inline constexpr const char* kCountSetTcp = "forwarded-tcp";
inline constexpr const char* kCountSetUdp = "forwarded-udp";
inline constexpr const char* kCountRangesTcp = "forwarded-tcp-ranges";
inline constexpr const char* kCountRangesUdp = "forwarded-udp-ranges";
inline constexpr const char* kCountToPortTcp = "forwarded-tcp-ranges-to-port";
inline constexpr const char* kCountToPortUdp = "forwarded-udp-ranges-to-port";
const char* count_set(uint8_t proto, FwdShape shape);
uint8_t count_set_proto(std::string_view name);  // 0: not a count set
// The shape of an owned forwarding map or count set, by its name
// (FwdShape::port for any other name).
FwdShape set_shape(std::string_view name);
// Whether an owned map or set holds port ranges (an interval set) rather
// than single ports (a hash set).
inline bool ranges_set(std::string_view name) {
  return set_shape(name) != FwdShape::port;
}
// Whether a forwarding map's data is one port (not an interval).
inline bool port_data(std::string_view name) {
  return set_shape(name) != FwdShape::range;
}
// A single port element's data as a map of one-port data holds it: a run
// carved from a forwarding of a port range to itself maps its port to
// itself (in either form the connection keeps its port).
inline NftMapElem with_port_data(NftMapElem e) {
  if (e.to_first != e.to_last) e.to_first = e.to_last = e.first;
  return e;
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

// The dispatch for `forwardings` won as `runs` (first match): the
// forwarding chain's rules (the guard, then a map lookup per protocol and
// shape), the count chain's rules, and each map followed by its count set
// (with the map's keys as elements when `count_elems`, else none and
// marked NftMap::keys_of_map).
struct ForwardingDispatch {
  std::vector<NftRule> chain, count_rules;
  std::vector<NftMap> maps;
};
ForwardingDispatch forwarding_dispatch(const std::optional<Prefix>& lan,
                                       const std::vector<Forwarding>& forwardings,
                                       const std::vector<PortRun>& runs, bool count_elems);

}  // namespace netkeep
