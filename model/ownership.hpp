// Ownership marks netkeep leaves in the kernel objects themselves, so a
// restart or a crash loses nothing: stale-removal only sweeps objects that
// carry one of these marks (systemd-networkd's foreign/ours split).
#pragma once

#include <cstdint>
#include <string_view>

namespace netkeep {

// rtm_protocol of routes from interfaces.json extra_routes. Unassigned in
// iproute2's rt_protos table.
inline constexpr uint8_t kRouteProtoNetkeep = 78;
// RTPROT_DHCP: DHCP routes, as router7 marks them.
inline constexpr uint8_t kRouteProtoDhcp = 16;
inline constexpr uint8_t kRouteProtoKernel = 2;
inline constexpr uint8_t kRouteProtoBoot = 3;
inline constexpr uint8_t kRouteProtoRa = 9;  // learned from a router advertisement

// IFA_PROTO (Linux >= 6.1) of addresses netkeep adds, one value per config
// file, so a file that fails to validate never causes its addresses to be swept.
inline constexpr uint8_t kAddrProtoInterfaces = 78;
inline constexpr uint8_t kAddrProtoDhcp4 = 79;
inline constexpr uint8_t kAddrProtoDhcp6 = 80;

inline constexpr uint32_t kRouteTableMain = 254;

// Whose an address or route is: the config file (or lease) it came from,
// whose validity alone lets netkeep remove it, or foreign (never removed).
enum class Origin : uint8_t { foreign, interfaces, dhcp4, dhcp6 };

// Whose an address is, from its IFA_PROTO mark (0: none). SPEC §2's rule
// for dhcp4/wire/lease.json: every other IPv4 address on uplink0 is stale
// (router7's own DHCP client added them without a mark), so an unmarked
// IPv4 address there is the DHCPv4 lease's; any other unmarked one is
// foreign.
constexpr Origin addr_origin(uint8_t proto, bool v4, std::string_view dev) {
  return proto == kAddrProtoInterfaces ? Origin::interfaces
         : proto == kAddrProtoDhcp4    ? Origin::dhcp4
         : proto == kAddrProtoDhcp6    ? Origin::dhcp6
         : v4 && dev == "uplink0"      ? Origin::dhcp4
                                       : Origin::foreign;
}
// Whose a route is, from its rtm_protocol.
constexpr Origin route_origin(uint8_t proto) {
  return proto == kRouteProtoNetkeep ? Origin::interfaces
         : proto == kRouteProtoDhcp  ? Origin::dhcp4
                                     : Origin::foreign;
}

// The kernel's mark for what netkeep adds from each origin.
constexpr uint8_t addr_proto(Origin o) {
  return o == Origin::interfaces ? kAddrProtoInterfaces
         : o == Origin::dhcp4    ? kAddrProtoDhcp4
         : o == Origin::dhcp6    ? kAddrProtoDhcp6
                                 : 0;
}
constexpr uint8_t route_proto(Origin o) {
  return o == Origin::interfaces ? kRouteProtoNetkeep : o == Origin::dhcp4 ? kRouteProtoDhcp : 0;
}

}  // namespace netkeep
