// sysctls under /proc/sys, by slash key ("net/ipv4/ip_forward").
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "reconciler/kernel.hpp"

namespace netkeep::sysctl {

std::optional<std::string> read(const std::string& key);  // trimmed; nullopt if absent
std::optional<KernelError> write(const std::string& key, const std::string& value);

// Reads the same sysctls again and again (each snapshot of the daemon):
// each key's file stays open, and a read is one pread from offset 0, which
// makes the kernel format the value afresh, instead of a walk of /proc's
// path. A file whose table went away (its link was deleted or renamed:
// the kernel then answers ENOENT) is opened again by name once.
class Reader {
 public:
  Reader() = default;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader();

  std::optional<std::string> read(const std::string& key);  // as sysctl::read
  // Closes the files of the keys not read since the last sweep (links
  // that are gone or were renamed).
  void sweep();

 private:
  struct File {
    int fd = -1;
    bool used = false;
  };
  std::unordered_map<std::string, File> files_;
};

}  // namespace netkeep::sysctl
