// What a DHCP client's script call asks of the lease files (SPEC §2,
// "Leases from Debian's DHCP clients"): dhcpcd's script environment, or
// udhcpc's event and environment, read into the lease to write, the lease
// to end, or nothing. Pure: cmd/lease.cpp reads the environment and the
// clock, and writes the files.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "model/desired.hpp"
#include "model/result.hpp"

namespace netkeep {

using Env = std::map<std::string, std::string, std::less<>>;

struct LeaseAction {
  enum class Kind { none, bind, end };
  Kind v4 = Kind::none, v6 = Kind::none;
  Dhcp4Lease lease4;  // when v4 == bind
  Dhcp6Lease lease6;  // when v6 == bind
  bool operator==(const LeaseAction&) const = default;
};

// A malformed environment: the variable, its value, what is wrong.
struct EnvError {
  std::string variable, value, problem;
  std::string str() const;  // new_ip_address="300.1.2.3": not an IPv4 address
};

// Whether dhcpcd still keeps its own copy of each lease
// (/var/lib/dhcpcd/IFACE.lease and .lease6). dhcpcd 9 reports a release
// (`dhcpcd -k`) to the script as STOP, the same event as a plain stop
// that keeps the lease; it unlinks its saved lease before it runs the
// script only when it released.
struct DhcpcdSaved {
  bool lease4 = true, lease6 = true;
};

// dhcpcd's `script` (its event in $reason). BOUND, RENEW, REBIND, REBOOT
// bind the DHCPv4 lease; BOUND6, RENEW6, REBIND6, REBOOT6 the delegated
// prefixes; EXPIRE, RELEASE, NAK end the DHCPv4 lease, EXPIRE6, RELEASE6
// the DHCPv6 one; STOP and STOP6 end them only when dhcpcd released them
// (`saved`). Every other event (PREINIT, CARRIER, ...) is none.
Result<LeaseAction, EnvError> dhcpcd_action(const Env& env, int64_t now, DhcpcdSaved saved = {});

// udhcpc's `-s` script: `bound` and `renew` bind; `nak` ends; `deconfig`
// and `leasefail` end only a lease this udhcpc run bound
// (`bound_by_this_run`): udhcpc also calls deconfig when it starts, and a
// lease from before a restart stays in force until the client says
// otherwise. Another event is an error.
Result<LeaseAction, EnvError> udhcpc_action(std::string_view event, const Env& env, int64_t now,
                                            bool bound_by_this_run);

}  // namespace netkeep
