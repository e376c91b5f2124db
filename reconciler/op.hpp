// A Plan is an ordered list of small ops; each is one kernel (or file) write
// the executor performs. Ops name links by the name they carry when the op
// runs: after a rename op, later ops use the new name.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/actual.hpp"
#include "model/desired.hpp"
#include "model/nft.hpp"

namespace netkeep {

struct BridgeCreate {  // + link lan0 type bridge address 02:...
  std::string name;
  Mac mac;
  bool operator==(const BridgeCreate&) const = default;
};

struct LinkRename {  // ~ link eth3 (02:...): rename -> uplink0
  std::string from, to;
  Mac mac;
  bool operator==(const LinkRename&) const = default;
};

struct LinkSetMtu {
  std::string dev;
  uint32_t from = 0, to = 0;
  bool operator==(const LinkSetMtu&) const = default;
};

struct LinkSetMac {
  std::string dev;
  Mac from, to;
  bool operator==(const LinkSetMac&) const = default;
};

struct LinkSetMaster {  // an empty master: nomaster
  std::string dev, master;
  bool operator==(const LinkSetMaster&) const = default;
};

struct LinkSetUp {
  std::string dev;
  bool operator==(const LinkSetUp&) const = default;
};

struct AddrAdd {  // replace: also fixes a wrong broadcast or ownership mark
  Address addr;
  bool operator==(const AddrAdd&) const = default;
};

struct AddrDel {
  Address addr;
  std::string why;
  bool operator==(const AddrDel&) const = default;
};

struct RouteReplace {
  Route route;
  bool operator==(const RouteReplace&) const = default;
};

struct RouteDel {
  Route route;
  std::string why;
  bool operator==(const RouteDel&) const = default;
};

struct SysctlSet {
  std::string key;  // slash form: net/ipv4/ip_forward
  std::string from, to;
  bool operator==(const SysctlSet&) const = default;
};

struct FileWrite {  // path relative to --root; replaces a symlink
  std::string path;
  std::string content;
  FileKind was = FileKind::missing;
  bool operator==(const FileWrite&) const = default;
};

struct WgLinkCreate {  // + link wg0 type wireguard
  std::string name;
  bool operator==(const WgLinkCreate&) const = default;
};

// WG_CMD_SET_DEVICE with the whole desired device: REPLACE_PEERS, and
// REPLACE_ALLOWEDIPS on every peer. `changes` says what differs, for people.
struct WgSetDevice {
  WgInterfaceSpec device;
  std::vector<std::string> changes;
  bool operator==(const WgSetDevice&) const = default;
};

struct FecSet {  // ETHTOOL_MSG_FEC_SET
  std::string dev;
  std::string from, to;  // "rs", "baser", "llrs", "auto", "off", "none"
  bool operator==(const FecSet&) const = default;
};

// nftables ops. All of one reconcile go to the kernel in ONE transaction.
struct NftTableAdd {
  NftTable table;
  bool operator==(const NftTableAdd&) const = default;
};

struct NftCounterAdd {  // an existing counter is never recreated: it keeps counting
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool operator==(const NftCounterAdd&) const = default;
};

struct NftChainAdd {  // creates a chain, or updates a base chain's policy
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::optional<BaseChain> base;
  bool operator==(const NftChainAdd&) const = default;
};

struct NftChainDel {  // with its rules; only to recreate a base chain of the wrong
                      // type/hook/priority
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::string why;
  bool operator==(const NftChainDel&) const = default;
};

struct NftRuleDel {
  NftFamily family = NftFamily::ip;
  std::string table, chain;
  uint64_t handle = 0;
  std::string text;
  bool operator==(const NftRuleDel&) const = default;
};

// Where a new rule goes (NFTA_RULE_POSITION).
enum class RulePlace : uint8_t {
  append,         // at the end of the chain
  before_handle,  // before the existing rule `ref`
};

struct NftRuleAdd {
  NftFamily family = NftFamily::ip;
  std::string table, chain;
  RuleBody body;    // rule_text() renders it
  uint32_t id = 0;  // NFTA_RULE_ID, unique within the plan
  RulePlace place = RulePlace::append;
  uint64_t ref = 0;
  bool operator==(const NftRuleAdd&) const = default;
};

// The forwarding maps (see nft_desired.hpp): created once with their fixed
// type; deleted only to recreate one of another type.
struct NftMapAdd {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  NftMapKind kind = NftMapKind::dnat;
  bool operator==(const NftMapAdd&) const = default;
};

struct NftMapDel {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::string why;
  bool operator==(const NftMapDel&) const = default;
};

// One forwarding's element of a map (a port interval it wins, first match),
// and of the count set in table ip netkeep (`count`, the set's name; empty
// when that set already holds, or never held, these ports):
// + forward tcp 8080 -> 10.10.0.23:80
// An element moved from another map is added with the counts it had there
// (elem.packets and bytes: connections; count_*: the count set's).
struct NftForwardAdd {
  NftFamily family = NftFamily::ip;
  std::string table, map;
  uint8_t proto = 6;
  NftMapElem elem;
  std::string count;
  uint64_t count_packets = 0, count_bytes = 0;
  bool operator==(const NftForwardAdd&) const = default;
};

struct NftForwardDel {  // - forward tcp 8080 -> 10.10.0.23:80
  NftFamily family = NftFamily::ip;
  std::string table, map;
  uint8_t proto = 6;
  NftMapElem elem;
  std::string count;
  bool operator==(const NftForwardDel&) const = default;
};

// A count set's element out of step with its forwarding map (drift):
// + nft ip netkeep set forwarded-tcp element 8080
struct NftElemAdd {
  NftFamily family = NftFamily::ip;
  std::string table, set;
  NftMapElem elem;
  bool operator==(const NftElemAdd&) const = default;
};

struct NftElemDel {
  NftFamily family = NftFamily::ip;
  std::string table, set;
  NftMapElem elem;
  bool operator==(const NftElemDel&) const = default;
};

// The same ports to another destination: the element is deleted and added
// again in the same transaction (the kernel cannot change an element's
// data in place), so its counter starts again.
// ~ forward udp 53: -> 10.10.0.98:53 (was 10.10.0.99:53)
struct NftForwardChange {
  NftFamily family = NftFamily::ip;
  std::string table, map;
  uint8_t proto = 6;
  NftMapElem from, to;
  bool operator==(const NftForwardChange&) const = default;
};

// The sets of LAN protection (reconciler/nft_protect.hpp): created with
// the type their name says; deleted when protection is turned off, or to
// be made again when of another type.
struct NftKeySetAdd {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool operator==(const NftKeySetAdd&) const = default;
};

struct NftKeySetDel {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::string why;
  bool operator==(const NftKeySetDel&) const = default;
};

// One element of such a set: + pinhole tcp 443 -> 2001:db8:4a00:1::23
struct NftKeyElemAdd {
  NftFamily family = NftFamily::ip;
  std::string table, set;
  NftKeyElem elem;
  bool operator==(const NftKeyElemAdd&) const = default;
};

struct NftKeyElemDel {
  NftFamily family = NftFamily::ip;
  std::string table, set;
  NftKeyElem elem;
  bool operator==(const NftKeyElemDel&) const = default;
};

// The flows in flight that a changed or removed forwarding's old DNAT
// made: their conntrack entries, deleted right after the nftables
// transaction commits. Otherwise a stream that never pauses (a game, a
// VoIP or WireGuard peer) keeps its old destination for ever. An entry
// matches when its original destination port is in `ports`, its reply
// comes from `to` at the port the DNAT mapped that port to, and the
// kernel marks it destination-NATed. `moves`: the ports stay forwarded
// (elsewhere); else they are no longer forwarded.
// ~ conntrack udp 5000 -> 192.168.42.23:5000: flows in flight move
struct FlowsEnd {
  uint8_t proto = 17;
  PortRange ports;
  std::array<uint8_t, 4> to{};  // network order
  PortRange to_ports;           // one port, or as many as `ports`
  bool moves = false;
  // How many entries match now: counted by `plan` for its reader, never
  // planned or compared.
  std::optional<uint64_t> in_flight;
  // The port the old DNAT gave original destination port `p` (in `ports`).
  uint16_t to_port(uint16_t p) const {
    return to_ports.single() ? to_ports.first
                             : static_cast<uint16_t>(to_ports.first + (p - ports.first));
  }
  bool operator==(const FlowsEnd& o) const {
    return proto == o.proto && ports == o.ports && to == o.to && to_ports == o.to_ports &&
           moves == o.moves;
  }
};

// The ops below only undo a change (reconciler/restore.hpp): netkeep's
// planner never takes a link down, deletes a link or removes a file.
struct LinkSetDown {
  std::string dev;
  bool operator==(const LinkSetDown&) const = default;
};

struct LinkDelete {  // a link the change being undone created
  std::string name;
  bool operator==(const LinkDelete&) const = default;
};

// A file put back as it was before the change being undone: removed (it
// was missing), or the symlink it was (`symlink`, its target).
struct FileRestore {
  std::string path;
  std::string symlink;
  bool operator==(const FileRestore&) const = default;
};

using Op =
    std::variant<BridgeCreate, WgLinkCreate, LinkRename, LinkSetMtu, LinkSetMac, LinkSetMaster,
                 LinkSetUp, FecSet, WgSetDevice, AddrAdd, AddrDel, RouteReplace, RouteDel,
                 SysctlSet, NftTableAdd, NftCounterAdd, NftChainDel, NftChainAdd, NftRuleDel,
                 NftRuleAdd, NftMapAdd, NftMapDel, NftForwardAdd, NftForwardDel, NftForwardChange,
                 NftElemAdd, NftElemDel, NftKeySetAdd, NftKeySetDel, NftKeyElemAdd, NftKeyElemDel,
                 FlowsEnd, FileWrite, LinkSetDown, LinkDelete, FileRestore>;

bool is_nft(const Op& op);

struct Plan {
  std::vector<Op> ops;
  std::vector<std::string> warnings;  // e.g. a driver without FEC support; not ops
  bool operator==(const Plan&) const = default;
  bool empty() const { return ops.empty(); }
};

// "net/ipv6/conf/eth0.5/accept_ra" -> "net.ipv6.conf.eth0/5.accept_ra", as sysctl(8) prints.
std::string sysctl_dotted(std::string_view slash_key);

}  // namespace netkeep
