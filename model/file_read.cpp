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

FileText read_regular_file(const std::filesystem::path& p, ReadLimits limits, std::string buffer) {
  FileText f;
  f.text = std::move(buffer);
  auto fail = [&f](int fd, std::string why, int code = EINVAL) {
    if (fd >= 0) ::close(fd);
    f.result = ReadResult::error;
    f.error = std::move(why);
    f.code = code;
    f.text.clear();
    return std::move(f);
  };
  // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (limits.follow_symlinks ? 0 : O_NOFOLLOW);
  int fd = ::open(p.c_str(), flags);
  if (fd < 0) {
    const int e = errno;
    struct stat st {};
    if (e == ENOENT && ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      return fail(-1, "a dangling symlink (its target does not exist)", ENOENT);
    if (e == ENOENT) {
      f.result = ReadResult::missing;
      return f;
    }
    return fail(-1,
                e == ELOOP && !limits.follow_symlinks ? "a symlink, which is not followed here"
                                                      : std::strerror(e),
                e);
  }
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return fail(fd, fmt::format("{}, not a regular file", kind_of(st.st_mode)));
  if (static_cast<size_t>(st.st_size) > limits.max_bytes)
    return fail(
        fd,
        fmt::format("{} bytes, more than the {} allowed", st.st_size, size_text(limits.max_bytes)),
        EFBIG);
  // One byte more than the file holds, so that a file that did not grow
  // ends in a short read, not in doubling the buffer (and zero-filling the
  // new half) only to read nothing into it. A buffer handed in keeps its
  // size from the last read: resize() fills only what is new.
  f.text.resize(st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : 0);  // read() overwrites it
  size_t got = 0;
  for (;;) {
    if (got == f.text.size()) {  // it grew while being read
      if (got >= limits.max_bytes)
        return fail(
            fd,
            fmt::format("grew beyond the {} allowed while being read", size_text(limits.max_bytes)),
            EFBIG);
      f.text.resize(std::min(limits.max_bytes + 1, std::max<size_t>(4096, f.text.size() * 2)));
    }
    ssize_t n = ::read(fd, f.text.data() + got, f.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;  // before strerror, whatever it does
      return fail(fd, std::strerror(e), e);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  f.text.resize(got);
  ::close(fd);
  return f;
}

}  // namespace netkeep
