// A Plan is an ordered list of small ops; each is one kernel (or file) write
// the executor performs. Ops name links by the name they carry when the op
// runs: after a rename op, later ops use the new name.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "model/actual.hpp"

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

struct LinkSetMaster {
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

using Op = std::variant<BridgeCreate, LinkRename, LinkSetMtu, LinkSetMac, LinkSetMaster,
                        LinkSetUp, AddrAdd, AddrDel, RouteReplace, RouteDel, SysctlSet,
                        FileWrite>;

struct Plan {
  std::vector<Op> ops;
  bool operator==(const Plan&) const = default;
  bool empty() const { return ops.empty(); }
};

// "net/ipv6/conf/eth0.5/accept_ra" -> "net.ipv6.conf.eth0/5.accept_ra", as sysctl(8) prints.
std::string sysctl_dotted(std::string_view slash_key);

}  // namespace netkeep
