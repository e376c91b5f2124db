// A netlink socket subscribed to multicast groups, read without blocking:
// the daemon's window on the kernel's changes (rtnetlink, nftables) and
// the flow index's feed (conntrack events, flow_index.hpp).
#pragma once

#include <linux/netlink.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/netlink.hpp"

namespace netkeep {

struct Drained {
  int events = 0;
  bool overrun = false;  // ENOBUFS: events were lost; a full resync is due
};

// A netlink socket subscribed to multicast groups, non-blocking.
class NetlinkWatch {
 public:
  // bus: NETLINK_ROUTE or NETLINK_NETFILTER; groups: RTNLGRP_* / NFNLGRP_*.
  NetlinkWatch(int bus, const std::vector<unsigned>& groups);
  NetlinkWatch(const NetlinkWatch&) = delete;
  NetlinkWatch& operator=(const NetlinkWatch&) = delete;
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }
  // Grows the receive buffer to at least `bytes` (it never shrinks; the
  // kernel charges only what is queued).
  void reserve(size_t bytes);
  // Reads every queued event; counts those `relevant` says matter.
  Drained drain(const std::function<bool(const nlmsghdr*)>& relevant);

 private:
  std::unique_ptr<nl::Socket> sock_;
  int fd_ = -1;  // sock_'s; -1 when it could not be opened
  size_t rcvbuf_ = 0;
  std::vector<char> buf_ = std::vector<char>(64 * 1024);  // one recv's worth
  std::string error_;
};

}  // namespace netkeep
