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

Drained ConfigWatch::drain(const Relevant&) {
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
