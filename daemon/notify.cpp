#include "daemon/notify.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace netkeep {

std::vector<std::string> notify_pidfiles(const std::vector<std::string>& paths) {
  std::vector<std::string> warnings;
  for (const auto& path : paths) {
    std::ifstream in(path);
    std::string text;
    if (!in || !std::getline(in, text)) {
      warnings.push_back(fmt::format("--notify-pidfile {}: cannot read it", path));
      continue;
    }
    long pid = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (ec != std::errc{} || pid <= 1) {
      warnings.push_back(fmt::format("--notify-pidfile {}: \"{}\" is not a pid", path, text));
      continue;
    }
    if (kill(static_cast<pid_t>(pid), SIGUSR1) < 0)
      warnings.push_back(
          fmt::format("--notify-pidfile {}: pid {}: {}", path, pid, std::strerror(errno)));
  }
  return warnings;
}

bool sd_notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof sa.sun_path) return false;
  std::memcpy(sa.sun_path, path, len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa),
                     static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
  return n >= 0;
}

uint64_t watchdog_usec() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (!usec) return 0;
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::atol(pid) != getpid()) return 0;
  return std::strtoull(usec, nullptr, 10);
}

}  // namespace netkeep
