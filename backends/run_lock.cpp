#include "backends/run_lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace netkeep {

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<RunLock, std::string> RunLock::take(const std::filesystem::path& root, const char* command,
                                           std::chrono::milliseconds wait) {
  struct stat ns {};
  if (::stat("/proc/self/ns/net", &ns) < 0)
    return RunLock(-1, fmt::format("not locked against other netkeeps: /proc/self/ns/net: {}",
                                   std::strerror(errno)));
  const std::filesystem::path dir = root / "run/netkeep";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path file = dir / fmt::format("lock-net{}", ns.st_ino);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0)
    return RunLock(-1, fmt::format("not locked against other netkeeps: {}: {}", file.string(),
                                   std::strerror(errno)));
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || std::chrono::steady_clock::now() >= deadline) {
      const int e = errno;
      char holder[128] = {};
      ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
      std::string who(holder, n > 0 ? static_cast<size_t>(n) : 0);
      while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
      std::string error =
          e == EWOULDBLOCK
              ? fmt::format(
                    "another netkeep ({}) works on this root and network namespace; "
                    "waited {} s for it ({})",
                    who.empty() ? "pid unknown" : who, wait.count() / 1000.0, file.string())
              : fmt::format("{}: {}", file.string(), std::strerror(e));
      ::close(fd);
      return unexpected(std::move(error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Who holds it, for the message of whoever waits next.
  const std::string me = fmt::format("pid {}, netkeep {}\n", ::getpid(), command);
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, me.data(), me.size(), 0);
  return RunLock(fd);
}

}  // namespace netkeep
