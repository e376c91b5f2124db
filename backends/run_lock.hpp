// One netkeep at a time per root and network namespace: `apply` and `run`
// hold an exclusive lock on ROOT/run/netkeep/lock-net<namespace inode>
// while they work (the daemon for its lifetime), so two applies never
// plan from the same state and both write, and a CLI apply never races a
// running daemon. Different namespaces sharing a root do not wait for each
// other.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace netkeep {

class RunLock {
 public:
  // Waits up to `wait` for the lock. nullopt with `error` set (naming the
  // holder's pid and command) when another netkeep keeps holding it. When
  // the lock file cannot be made at all (ROOT/run read-only, say), the
  // work goes on unlocked: a lock held by nobody, and `warning` says why.
  static std::optional<RunLock> take(const std::filesystem::path& root, const char* command,
                                     std::chrono::milliseconds wait, std::string& error,
                                     std::string& warning);
  RunLock(RunLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RunLock& operator=(RunLock&&) = delete;
  ~RunLock();  // releases it

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace netkeep
