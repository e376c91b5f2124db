#include "daemon/watch.hpp"

#include <fmt/format.h>
#include <linux/netlink.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "model/desired.hpp"

namespace netkeep {

NetlinkWatch::NetlinkWatch(int bus, const std::vector<unsigned>& groups) {
  auto s = nl::Socket::open(bus);
  if (!s) {
    error_ = s.error().str();
    return;
  }
  sock_ = std::move(*s);
  fd_ = sock_->fd();
  for (unsigned g : groups)
    if (auto e = sock_->join(g)) error_ = e->str();
  // Room for a burst of another program's changes; past it the kernel
  // drops events and reports ENOBUFS, handled as a resync.
  reserve(4 << 20);
}

void NetlinkWatch::reserve(size_t bytes) {
  if (fd_ < 0 || bytes <= rcvbuf_) return;
  int size = static_cast<int>(std::min<size_t>(bytes, 1 << 30));
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  rcvbuf_ = bytes;
}

Drained NetlinkWatch::drain(const std::function<bool(const nlmsghdr*)>& relevant) {
  Drained d;
  for (;;) {
    // MSG_DONTWAIT: the daemon only reads what is queued.
    ssize_t n = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n > 0) {
      int left = static_cast<int>(n);
      // left > 0: a last message of unaligned length leaves it negative.
      for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf_.data());
           left > 0 && NLMSG_OK(nlh, static_cast<unsigned>(left)); nlh = NLMSG_NEXT(nlh, left))
        if (relevant(nlh)) d.events++;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ENOBUFS) {
      d.overrun = true;
      continue;
    }
    return d;  // EAGAIN: drained
  }
}

ConfigWatch::ConfigWatch(std::filesystem::path dir) : dir_(std::move(dir)) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    error_ = fmt::format("inotify: {}", std::strerror(errno));
    return;
  }
  rescan();
}

ConfigWatch::~ConfigWatch() {
  if (fd_ >= 0) close(fd_);
}

void ConfigWatch::rescan() {
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                        IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
  for (const char* sub : {"", "dhcp4", "dhcp4/wire", "dhcp6", "dhcp6/wire"}) {
    std::filesystem::path p = dir_ / sub;
    int wd = inotify_add_watch(fd_, p.c_str(), mask);
    if (wd >= 0) watches_[wd] = p;  // an existing watch returns its old descriptor
  }
}

// Editors' swap files and the temporary files of an atomic rename are
// written next to the config; only the files netkeep reads count.
bool ConfigWatch::is_config_file(int wd, const char* name) const {
  auto w = watches_.find(wd);
  if (w == watches_.end()) return true;  // not knowing, assume it matters
  const std::filesystem::path p = (w->second / name).lexically_relative(dir_);
  for (const char* f : kConfigFiles)
    if (p == f) return true;
  return false;
}

Drained ConfigWatch::drain() {
  Drained d;
  alignas(inotify_event) char buf[16 * 1024];
  bool dirs_changed = false;
  for (;;) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) d.overrun = true;
      const bool dir = ev->mask & (IN_ISDIR | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED);
      if (dir) dirs_changed = true;
      if (dir || (ev->len && is_config_file(ev->wd, ev->name))) d.events++;
      if (ev->mask & IN_IGNORED) watches_.erase(ev->wd);
    }
  }
  if (dirs_changed) rescan();
  return d;
}

}  // namespace netkeep
