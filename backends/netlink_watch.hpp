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

// Whether one netlink message can matter to the reader.
using Relevant = std::function<bool(const nlmsghdr*)>;

// A source of events the daemon waits on: a descriptor that becomes
// readable, then is drained. The daemon's shell holds its sources by this
// interface (daemon/shell.hpp), so that tests can feed it their own.
class Watch {
 public:
  virtual ~Watch() = default;
  // -1 when the source could not be opened; error() says why.
  virtual int fd() const = 0;
  virtual const std::string& error() const = 0;
  // Reads every queued event without blocking. Netlink sources count the
  // messages `relevant` accepts; others judge their events themselves.
  virtual Drained drain(const Relevant& relevant) = 0;
  // Room for at least `bytes` of queued events, where the source has a
  // buffer that can grow; others ignore it.
  virtual void reserve(size_t /*bytes*/) {}
};

// A netlink socket subscribed to multicast groups, non-blocking.
class NetlinkWatch : public Watch {
 public:
  // bus: NETLINK_ROUTE or NETLINK_NETFILTER; groups: RTNLGRP_* / NFNLGRP_*.
  NetlinkWatch(int bus, const std::vector<unsigned>& groups);
  NetlinkWatch(const NetlinkWatch&) = delete;
  NetlinkWatch& operator=(const NetlinkWatch&) = delete;
  int fd() const override { return fd_; }
  const std::string& error() const override { return error_; }
  // Grows the receive buffer to at least `bytes` (it never shrinks; the
  // kernel charges only what is queued).
  void reserve(size_t bytes) override;
  Drained drain(const Relevant& relevant) override;

 private:
  std::unique_ptr<nl::Socket> sock_;
  int fd_ = -1;  // sock_'s; -1 when it could not be opened
  size_t rcvbuf_ = 0;
  std::vector<char> buf_ = std::vector<char>(64 * 1024);  // one recv's worth
  std::string error_;
};

}  // namespace netkeep
