#include "backends/sysctl.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netkeep::sysctl {

namespace {
std::string path_of(const std::string& key) {
  return "/proc/sys/" + key;
}
}  // namespace

std::optional<std::string> read(const std::string& key) {
  int fd = ::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[256];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n < 0) return std::nullopt;
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::optional<KernelError> write(const std::string& key, const std::string& value) {
  int fd = ::open(path_of(key).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return KernelError{errno, fmt::format("open {}: {}", path_of(key), std::strerror(errno))};
  std::string line = value + "\n";
  ssize_t n;
  do n = ::write(fd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  int e = errno;
  ::close(fd);
  if (n < 0) return KernelError{e, fmt::format("write {}: {}", path_of(key), std::strerror(e))};
  return std::nullopt;
}

}  // namespace netkeep::sysctl
