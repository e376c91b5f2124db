#include "backends/netlink_watch.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

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

Drained NetlinkWatch::drain(const Relevant& relevant) {
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

}  // namespace netkeep
