#include "model/file_read.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace netkeep {

namespace {

const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

std::string size_text(size_t n) {
  return n % (1 << 20) == 0 ? fmt::format("{} MiB", n >> 20) : fmt::format("{} bytes", n);
}

}  // namespace

ReadResult read_regular_file(const std::filesystem::path& p, std::string& out, std::string& err,
                             ReadLimits limits) {
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (limits.follow_symlinks ? 0 : O_NOFOLLOW);
  int fd = ::open(p.c_str(), flags);
  if (fd < 0) {
    const int e = errno;
    struct stat st {};
    if (e == ENOENT && ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      err = "a dangling symlink (its target does not exist)";
      return ReadResult::error;
    }
    if (e == ENOENT) return ReadResult::missing;
    err = e == ELOOP && !limits.follow_symlinks ? "a symlink, which is not followed here"
                                                : std::strerror(e);
    return ReadResult::error;
  }
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    err = fmt::format("{}, not a regular file", kind_of(st.st_mode));
    ::close(fd);
    return ReadResult::error;
  }
  if (static_cast<size_t>(st.st_size) > limits.max_bytes) {
    err =
        fmt::format("{} bytes, more than the {} allowed", st.st_size, size_text(limits.max_bytes));
    ::close(fd);
    return ReadResult::error;
  }
  out.assign(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0, '\0');
  size_t got = 0;
  for (;;) {
    if (got == out.size()) {  // it grew while being read
      if (got >= limits.max_bytes) {
        err =
            fmt::format("grew beyond the {} allowed while being read", size_text(limits.max_bytes));
        ::close(fd);
        return ReadResult::error;
      }
      out.resize(std::min(limits.max_bytes + 1, std::max<size_t>(4096, out.size() * 2)));
    }
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = std::strerror(errno);
      ::close(fd);
      return ReadResult::error;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  ::close(fd);
  return ReadResult::ok;
}

}  // namespace netkeep
