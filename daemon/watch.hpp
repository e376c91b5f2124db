// What tells the daemon something may have changed: the config files
// (inotify) and the kernel (rtnetlink and nftables multicast groups).
// Each source only reports "something happened"; the daemon then plans
// from a fresh snapshot, so no event needs to be interpreted.
#pragma once

#include <filesystem>
#include <functional>
#include <linux/netlink.h>
#include <map>
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

// inotify on the config dir and the lease directories under it. Directories
// that appear later are watched when they do; a file renamed into place
// (IN_MOVED_TO) counts like a write. Events on other files (an editor's
// swap file, the temporary file of a rename) do not count.
class ConfigWatch {
 public:
  explicit ConfigWatch(std::filesystem::path dir);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }
  Drained drain();

 private:
  void rescan();  // adds watches for directories that exist now
  bool is_config_file(int wd, const char* name) const;
  std::filesystem::path dir_;
  int fd_ = -1;
  std::string error_;
  std::map<int, std::filesystem::path> watches_;
};

}  // namespace netkeep
