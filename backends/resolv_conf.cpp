#include "backends/resolv_conf.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "model/file_read.hpp"

namespace netkeep::files {

FileInfo inspect(const std::filesystem::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) < 0) return {FileKind::missing, {}};
  if (S_ISLNK(st.st_mode)) return {FileKind::symlink, {}};
  if (!S_ISREG(st.st_mode)) return {FileKind::other, {}};
  // Not followed: a symlink put there since the lstat is not read through.
  FileText f = read_regular_file(p, {.follow_symlinks = false});
  if (f.result == ReadResult::missing) return {FileKind::missing, {}};
  return {FileKind::regular, std::move(f.text)};
}

KernelResult<std::filesystem::path> write_beside(const std::filesystem::path& p,
                                                 std::string_view content, mode_t mode, bool sync) {
  std::string tmpl = (p.parent_path() / ("." + p.filename().string() + ".netkeep.XXXXXX")).string();
  auto fail = [&](const char* what) {
    return unexpected(KernelError{errno, std::strerror(errno),
                                  fmt::format("{} a temporary file for {}", what, p.string())});
  };
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return fail("creating");
  if (::fchmod(fd, mode) < 0) {
    auto e = fail("setting the mode of");
    ::close(fd);
    ::unlink(tmpl.c_str());
    return e;
  }
  for (size_t off = 0; off < content.size();) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      auto e = fail("writing");
      ::close(fd);
      ::unlink(tmpl.c_str());
      return e;
    }
    off += static_cast<size_t>(n);
  }
  if (sync && ::fsync(fd) < 0) {
    auto e = fail("syncing");
    ::close(fd);
    ::unlink(tmpl.c_str());
    return e;
  }
  ::close(fd);
  return std::filesystem::path(tmpl);
}

std::optional<KernelError> replace_unless_regular(const std::filesystem::path& p,
                                                  const std::string& content) {
  auto fail = [&](const char* what) {
    int e = errno;
    return KernelError{e, fmt::format("{} {}: {}", what, p.string(), std::strerror(e))};
  };
  auto written = write_beside(p, content, 0644);
  if (!written) return written.error();
  const std::string tmpl = written->string();
  // Checked again right before the rename: another program may have
  // created its own file since the snapshot.
  FileKind now = inspect(p).kind;
  if (now == FileKind::regular || now == FileKind::other) {
    ::unlink(tmpl.c_str());
    return KernelError{
        EEXIST, fmt::format("{} is now a file netkeep does not own; left alone", p.string())};
  }
  // A missing file is created with RENAME_NOREPLACE, closing the remaining race.
  int r = now == FileKind::missing
              ? ::renameat2(AT_FDCWD, tmpl.c_str(), AT_FDCWD, p.c_str(), RENAME_NOREPLACE)
              : ::rename(tmpl.c_str(), p.c_str());
  if (r < 0) {
    auto e = fail("rename into place");
    ::unlink(tmpl.c_str());
    return e;
  }
  return std::nullopt;
}

std::optional<KernelError> restore(const std::filesystem::path& p, const std::string& symlink) {
  auto fail = [&](const char* what) {
    int e = errno;
    return KernelError{e, fmt::format("{} {}: {}", what, p.string(), std::strerror(e))};
  };
  if (symlink.empty()) {
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return fail("removing");
    return std::nullopt;
  }
  const std::string tmp =
      (p.parent_path() / ("." + p.filename().string() + ".netkeep.link")).string();
  ::unlink(tmp.c_str());  // left by an earlier attempt that was killed
  if (::symlink(symlink.c_str(), tmp.c_str()) < 0) return fail("creating a symlink beside");
  if (::rename(tmp.c_str(), p.c_str()) < 0) {
    auto e = fail("rename into place");
    ::unlink(tmp.c_str());
    return e;
  }
  return std::nullopt;
}

std::optional<KernelError> write_own(const std::filesystem::path& p, std::string_view content) {
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) return KernelError{ec.value(), ec.message(), p.parent_path().string()};
  auto tmp = write_beside(p, content, 0600);
  if (!tmp) return tmp.error();
  if (::rename(tmp->c_str(), p.c_str()) < 0) {
    KernelError e{errno, std::strerror(errno), p.string()};
    ::unlink(tmp->c_str());
    return e;
  }
  return std::nullopt;
}

}  // namespace netkeep::files
