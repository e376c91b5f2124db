// What tells the daemon something may have changed: the config files
// (inotify, here) and the kernel (rtnetlink and nftables multicast groups,
// backends/netlink_watch.hpp).
// Each source only reports "something happened"; the daemon then plans
// from a fresh snapshot, so no event needs to be interpreted.
#pragma once

#include <filesystem>
#include <functional>
#include <linux/netlink.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backends/netlink_watch.hpp"

namespace netkeep {

// inotify on the config dir and the lease directories under it. Directories
// that appear later are watched when they do; a file renamed into place
// (IN_MOVED_TO) counts like a write. Events on other files (an editor's
// swap file, the temporary file of a rename) do not count.
class ConfigWatch : public Watch {
 public:
  explicit ConfigWatch(std::filesystem::path dir);
  ~ConfigWatch();
  ConfigWatch(const ConfigWatch&) = delete;
  ConfigWatch& operator=(const ConfigWatch&) = delete;
  int fd() const override { return fd_; }
  const std::string& error() const override { return error_; }
  // Counts changes of the config files; `relevant` is for netlink sources.
  Drained drain(const Relevant& relevant) override;

 private:
  void rescan();  // adds watches for directories that exist now
  bool is_config_file(int wd, const char* name) const;
  std::filesystem::path dir_;
  int fd_ = -1;
  std::string error_;
  std::map<int, std::filesystem::path> watches_;
};

}  // namespace netkeep
