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

#include "model/result.hpp"

namespace netkeep {

class RunLock {
 public:
  // Waits up to `wait` for the lock. An error (naming the holder's pid and
  // command) when another netkeep keeps holding it. When the lock file
  // cannot be made at all (ROOT/run read-only, say), the work goes on
  // unlocked: a lock held by nobody, whose warning() says why.
  static Result<RunLock, std::string> take(const std::filesystem::path& root, const char* command,
                                           std::chrono::milliseconds wait);
  RunLock(RunLock&& o) noexcept : fd_(o.fd_), warning_(std::move(o.warning_)) { o.fd_ = -1; }
  RunLock& operator=(RunLock&&) = delete;
  ~RunLock();                                              // releases it
  const std::string& warning() const { return warning_; }  // empty when locked

 private:
  explicit RunLock(int fd, std::string warning = {}) : fd_(fd), warning_(std::move(warning)) {}
  int fd_ = -1;
  std::string warning_;
};

}  // namespace netkeep
