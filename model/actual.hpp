// The actual state: a snapshot of the kernel objects netkeep manages.
//
// Objects are keyed by name, not ifindex: a snapshot is taken at one instant,
// when link names are unique, and names keep recorded snapshots and goldens
// free of values that differ from boot to boot.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/net.hpp"
#include "model/nft.hpp"
#include "model/ownership.hpp"

namespace netkeep {

struct Link {
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "veth", "bridge", ... ; empty for physical NICs
  Mac mac;
  uint32_t mtu = 0;
  bool up = false;     // IFF_UP, the administrative state
  std::string master;  // name of the bridge it is enslaved to; empty when none
  auto operator<=>(const Link&) const = default;
};

struct Address {
  std::string dev;
  Prefix local;                     // address with its prefix length
  std::optional<IpAddr> broadcast;  // IPv4 only
  uint8_t proto = 0;                // IFA_PROTO: who added it (model/ownership.hpp)
  auto operator<=>(const Address&) const = default;
  // Netkeep's by its mark; also any other IPv4 address on uplink0, which
  // the DHCPv4 lease governs (router7's DHCP client left no mark).
  Origin origin() const;
};

// A unicast route in the main table.
struct Route {
  Prefix dst;  // network form; /0 is the default route
  std::optional<IpAddr> gateway;
  std::string dev;
  uint8_t proto = 0;  // rtm_protocol
  uint8_t scope = 0;  // rtm_scope: 0 universe, 253 link
  std::optional<IpAddr> prefsrc;
  uint32_t priority = 0;  // RTA_PRIORITY (metric)
  auto operator<=>(const Route&) const = default;
  Origin origin() const;  // by its mark alone
  Family family() const { return dst.addr.family; }
};

enum class FileKind { missing, regular, symlink, other };

struct FileInfo {
  FileKind kind = FileKind::missing;
  std::string content;  // for regular files
  auto operator<=>(const FileInfo&) const = default;
};

struct WgPeerState {
  std::string public_key;  // 32 bytes
  std::optional<IpAddr> endpoint;
  uint16_t endpoint_port = 0;
  std::vector<Prefix> allowed_ips;  // sorted
  auto operator<=>(const WgPeerState&) const = default;
};

// A WireGuard device as WG_CMD_GET_DEVICE reports it. The private key is
// kept only to compare it; it is never printed (`show` says "(hidden)").
struct WgDeviceState {
  std::string name;
  uint16_t listen_port = 0;
  std::string private_key;  // empty: none set; kHiddenKey: recorded snapshot, value unknown
  std::string public_key;
  std::vector<WgPeerState> peers;  // sorted by public key
  bool operator==(const WgDeviceState&) const = default;
};

inline constexpr const char* kHiddenKey = "(hidden)";

struct Actual {
  std::vector<Link> links;                     // sorted by name
  std::vector<Address> addrs;                  // sorted
  std::vector<Route> routes;                   // sorted
  std::map<std::string, std::string> sysctls;  // "net/ipv4/ip_forward" -> "1"
  std::map<std::string, FileInfo> files;       // "/tmp/resolv.conf", relative to --root
  NftState nft;                                // the owned nftables objects
  std::vector<WgDeviceState> wireguard;        // every link of kind wireguard
  std::map<std::string, std::string> fec;      // link -> configured FEC mode, or "unsupported"
  bool operator==(const Actual&) const = default;

  const Link* link(std::string_view name) const;
  void normalize();  // sort every list, so equal states compare equal
};

inline constexpr uint8_t kScopeUniverse = 0;
inline constexpr uint8_t kScopeLink = 253;
inline constexpr uint8_t kScopeHost = 254;

// Route metric the kernel assigns when none is given (IPv6 uses 1024, IP6_RT_PRIO_USER).
inline uint32_t default_metric(Family f) {
  return f == Family::v6 ? 1024 : 0;
}

}  // namespace netkeep
