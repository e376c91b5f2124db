// The sockets listening in this network namespace (TCP in LISTEN, bound
// UDP), over NETLINK_SOCK_DIAG, with the program holding each: for
// `netkeep doctor` (a port another program publishes that LAN protection
// blocks). Read only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backends/netlink.hpp"
#include "model/net.hpp"

namespace netkeep::sock_diag {

struct Listener {
  uint8_t proto = 0;  // IPPROTO_TCP, IPPROTO_UDP
  IpAddr addr;        // bound address; all zeros: every address of its family
  uint16_t port = 0;
  uint64_t inode = 0;
  std::string program;  // /proc/PID/comm of a process holding it; empty if none found
};

// Every one of them: a dump per family and protocol.
KernelResult<std::vector<Listener>> listeners();

// The request for `family` (AF_INET, AF_INET6) and `proto`, and a reply's
// socket, for tests and the fuzzer.
nl::Message encode_dump(uint8_t family, uint8_t proto);
std::optional<Listener> decode(const nlmsghdr* nlh, uint8_t proto);

}  // namespace netkeep::sock_diag
