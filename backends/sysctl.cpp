#include "backends/sysctl.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace netkeep::sysctl {

namespace {

std::string path_of(const std::string& key) {
  return "/proc/sys/" + key;
}

int open_key(const std::string& key) {
  return ::open(path_of(key).c_str(), O_RDONLY | O_CLOEXEC);
}

// The value from offset 0 of an open sysctl file, trimmed; nullopt on an error.
std::optional<std::string> read_at_start(int fd) {
  char buf[256];
  ssize_t n;
  do n = ::pread(fd, buf, sizeof buf, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::optional<std::string> read(const std::string& key) {
  int fd = open_key(key);
  if (fd < 0) return std::nullopt;
  auto v = read_at_start(fd);
  ::close(fd);
  return v;
}

Reader::~Reader() {
  for (auto& [key, f] : files_) ::close(f.fd);
}

std::optional<std::string> Reader::read(const std::string& key) {
  auto it = files_.find(key);
  if (it != files_.end()) {
    it->second.used = true;
    if (auto v = read_at_start(it->second.fd)) return v;
    ::close(it->second.fd);  // its table is gone; the name may have a new one
    files_.erase(it);
  }
  int fd = open_key(key);
  if (fd < 0) return std::nullopt;
  auto v = read_at_start(fd);
  if (v)
    files_[key] = {fd, true};
  else
    ::close(fd);
  return v;
}

void Reader::sweep() {
  for (auto it = files_.begin(); it != files_.end();) {
    if (std::exchange(it->second.used, false)) {
      ++it;
      continue;
    }
    ::close(it->second.fd);
    it = files_.erase(it);
  }
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
