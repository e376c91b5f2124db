// Reading a file netkeep is given, safely: it must be a regular file of a
// bounded size. A FIFO, a device (a symlink to /dev/zero, say), a
// directory or a file that grows without end would otherwise hang netkeep
// or fill its memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace netkeep {

enum class ReadResult { ok, missing, error };

struct ReadLimits {
  size_t max_bytes = 16 << 20;  // config and lease files: 10,000 forwardings are 667 KB
  bool follow_symlinks = true;  // false for netkeep's own state files (O_NOFOLLOW)
};

struct FileText {
  ReadResult result = ReadResult::ok;
  std::string text;   // the whole file, when ok
  std::string error;  // what is wrong, when error
  int code = 0;       // its errno (EINVAL: a kind of file that is not read)
};

// `missing` only when there is nothing at the path: a symlink to nothing
// is an error ("dangling symlink"), so the file it stands for is not taken
// as absent. `buffer`: storage to read into (a caller that reads the same
// large file again and again passes the last text back: no allocation).
FileText read_regular_file(const std::filesystem::path& p, ReadLimits limits = {},
                           std::string buffer = {});

}  // namespace netkeep
