// The desired state, as the config files declare it. Immutable once loaded.
//
// Each config file governs its own part of the kernel state. A file that is
// missing declares nothing; a file that fails to parse or validate is
// `invalid` and the planner leaves everything it governs exactly as it is.
#pragma once

#include <map>
#include <utility>
#include <optional>
#include <string>
#include <vector>

#include "model/diag.hpp"
#include "model/net.hpp"
#include "model/timestamp.hpp"

namespace netkeep {

enum class FileState { missing, ok, invalid };

// The router-wide sysctls netkeep keeps, and their values (SPEC §5):
// forwarding on, ICMP rate limits off (router7's choice).
inline constexpr std::pair<const char*, const char*> kRouterSysctls[] = {
    {"net/ipv4/ip_forward", "1"},
    {"net/ipv6/conf/all/forwarding", "1"},
    {"net/ipv4/icmp_ratelimit", "0"},
    {"net/ipv6/icmp/ratelimit", "0"}};

// The files netkeep writes, relative to --root.
inline constexpr const char* kResolvConf = "/tmp/resolv.conf";

// The FEC modes interfaces.json may name, as `ethtool --set-fec` takes them.
inline constexpr const char* kFecModes[] = {"rs", "baser", "llrs", "auto", "off", "none"};

struct RouteSpec {
  Prefix destination;             // network form, e.g. 2001:db8:5::/64
  std::optional<IpAddr> gateway;  // none: an on-link route (scope link)
  bool operator==(const RouteSpec&) const = default;
};

struct InterfaceSpec {
  std::optional<Mac> hardware_addr;
  std::optional<Mac> spoof_hardware_addr;
  std::string name;
  uint32_t mtu = 0;  // 0: leave alone
  std::optional<Prefix> addr;
  std::vector<Prefix> extra_addrs;
  std::vector<RouteSpec> extra_routes;
  std::string fec;  // lower-case mode, empty when unset (applied by the FEC backend)
  bool operator==(const InterfaceSpec&) const = default;
};

struct BridgeSpec {
  std::string name;
  std::vector<Mac> members;  // interface_hardware_addrs; the first gives the bridge its MAC
  bool operator==(const BridgeSpec&) const = default;
};

struct InterfacesConfig {
  std::vector<InterfaceSpec> interfaces;
  std::vector<BridgeSpec> bridges;
  bool operator==(const InterfacesConfig&) const = default;
};

// A lease file's "state" (added 2026-12): "ended" when the DHCP client
// reported the lease expired, released or refused (netkeep lease writes
// it). An ended lease declares no address or route; its fields say what
// it was, when the file still carries them.
struct Dhcp4Lease {
  IpAddr client_ip;
  uint8_t prefix_len = 0;
  IpAddr router;
  std::vector<IpAddr> dns;
  bool ended = false;
  Timestamp valid_until{};  // informational (SPEC §2): shown, never acted on
  bool operator==(const Dhcp4Lease&) const = default;
};

struct Dhcp6Lease {
  std::vector<Prefix> prefixes;  // network form
  std::vector<IpAddr> dns;
  bool ended = false;
  Timestamp valid_until{};
  bool operator==(const Dhcp6Lease&) const = default;
};

struct PortRange {
  uint16_t first = 0, last = 0;
  bool operator==(const PortRange&) const = default;
  bool single() const { return first == last; }
  std::string str() const;  // "53" or "6000-6010"
  // "N" or "N-M", 1-65535 each, decimal digits only; nullopt otherwise
  // (a reversed range is returned as written: first > last).
  static std::optional<PortRange> parse(std::string_view s);
};

// One rule of the forwarding chain: portforwardings.json entries expand to
// one Forwarding per protocol, in file order.
struct Forwarding {
  uint8_t proto = 6;  // IPPROTO_TCP or IPPROTO_UDP
  PortRange port;
  IpAddr dest_addr;
  PortRange dest_port;
  bool operator==(const Forwarding&) const = default;
};

// Which forwarding takes each port: first match in file order, as runs
// of ports (model/first_match.hpp), indexing `forwardings`.
struct PortRun {
  uint8_t proto = 6;
  PortRange ports;
  size_t forwarding = 0;  // index into the forwarding list
  bool operator==(const PortRun&) const = default;
};

struct PortForwardings {
  std::vector<Forwarding> forwardings;
  // What parse_portforwardings found for them (it checks the overlaps
  // anyway); empty when made otherwise: the planner computes them then.
  std::vector<PortRun> runs = {};
  // "keep_tcp": TCP connections through a changed or removed forwarding
  // keep their old destination until they close (reconciler/flows.hpp).
  bool keep_tcp = false;
  bool operator==(const PortForwardings&) const = default;
};

// Key material that must never be printed: no str(), no JSON; compared by value.
struct Secret {
  std::string bytes;
  bool operator==(const Secret&) const = default;
  bool empty() const { return bytes.empty(); }
};

struct WgEndpoint {
  std::string host;  // an IP address or a hostname, as written
  uint16_t port = 0;
  std::optional<IpAddr> addr;  // host parsed or resolved; none: unresolved
  bool operator==(const WgEndpoint&) const = default;
  std::string str() const;  // "192.0.2.7:51820", "[2001:db8::7]:51820"
};

struct WgPeerSpec {
  std::string public_key;  // 32 bytes
  std::optional<WgEndpoint> endpoint;
  std::vector<Prefix> allowed_ips;  // network form
  bool operator==(const WgPeerSpec&) const = default;
};

struct WgInterfaceSpec {
  std::string name;
  Secret private_key;  // 32 bytes
  uint16_t port = 0;
  std::vector<WgPeerSpec> peers;
  bool operator==(const WgInterfaceSpec&) const = default;
};

struct WireGuardConfig {
  std::vector<WgInterfaceSpec> interfaces;
  bool operator==(const WireGuardConfig&) const = default;
};

// firewall.json (SPEC §2, added 2026-12): protection of the LAN and of the
// router itself from what arrives on the uplink. The file's presence is
// the opt-in; each protection is on unless set to false.
struct OpenPort {  // a port of the router opened on the uplink
  uint8_t proto = 6;
  PortRange port;
  bool operator==(const OpenPort&) const = default;
};

// A hole in protect_lan for one host, protocol and port(s): an entry
// expands to one Pinhole per protocol, in file order. The host is a full
// address, or an interface identifier placed on lan0's current delegated
// /64 (so the pinhole follows the host when the ISP renumbers).
struct Pinhole {
  uint8_t proto = 6;
  PortRange port;
  std::optional<IpAddr> dest_addr;
  std::optional<IpAddr> dest_iid;  // an IPv6 address whose upper 64 bits are zero
  std::optional<Prefix> from;      // network form; none: any source
  size_t entry = 0;                // its index in "pinholes", for messages
  bool operator==(const Pinhole&) const = default;
};

struct FirewallConfig {
  bool protect_lan = true;
  bool protect_router = true;
  std::vector<OpenPort> open;
  std::vector<Pinhole> pinholes;
  bool operator==(const FirewallConfig&) const = default;
};

template <class T>
struct ConfigFile {
  FileState state = FileState::missing;
  T value{};  // meaningful only when state == ok
  bool operator==(const ConfigFile&) const = default;
  bool ok() const { return state == FileState::ok; }
  // A missing file declares nothing; an invalid one must not be acted on.
  bool governs() const { return state != FileState::invalid; }
};

struct Desired {
  ConfigFile<InterfacesConfig> interfaces;
  ConfigFile<Dhcp4Lease> dhcp4;
  ConfigFile<Dhcp6Lease> dhcp6;
  ConfigFile<PortForwardings> portforwardings;
  ConfigFile<WireGuardConfig> wireguard;
  ConfigFile<FirewallConfig> firewall;
  bool operator==(const Desired&) const = default;
};

// The config file names, relative to the config dir.
inline constexpr const char* kInterfacesFile = "interfaces.json";
inline constexpr const char* kDhcp4File = "dhcp4/wire/lease.json";
inline constexpr const char* kDhcp6File = "dhcp6/wire/lease.json";
inline constexpr const char* kPortForwardingsFile = "portforwardings.json";
inline constexpr const char* kWireGuardFile = "wireguard.json";
inline constexpr const char* kFirewallFile = "firewall.json";
// Every file load_config reads: what the daemon watches and a saved plan
// fingerprints. Those the operator writes (not the DHCP clients' leases):
// what run --confirm keeps of the last good config.
inline constexpr const char* kConfigFiles[] = {kInterfacesFile,      kDhcp4File,     kDhcp6File,
                                               kPortForwardingsFile, kWireGuardFile, kFirewallFile};
inline constexpr const char* kOperatorFiles[] = {kInterfacesFile, kPortForwardingsFile,
                                                 kWireGuardFile, kFirewallFile};

// Kernel limit on interface names (IFNAMSIZ - 1).
inline constexpr size_t kMaxIfName = 15;

}  // namespace netkeep
