#include "daemon/last_good.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <functional>

#include "backends/resolv_conf.hpp"
#include "model/desired.hpp"
#include "model/file_read.hpp"
#include "reconciler/saved_plan.hpp"

namespace netkeep {

namespace {

constexpr const char* kLeaseDirs[] = {"dhcp4", "dhcp6"};

std::string read_kept(const std::filesystem::path& p) {
  FileText t = read_regular_file(p, {1 << 10, false});
  return t.result == ReadResult::ok ? t.text : "";
}

}  // namespace

LastGood::LastGood(std::filesystem::path config, std::filesystem::path dir)
    : config_(std::move(config)), dir_(std::move(dir)) {}

// The saved plan's hash of each file (stable across builds: the kept
// fingerprint outlives the binary that wrote it).
std::string LastGood::fingerprint() const {
  std::string all;
  for (const char* name : kOperatorFiles)
    all += fmt::format("{} {}\n", name, config_file_hash(config_ / name));
  return all;
}

std::string LastGood::kept() const {
  return read_kept(dir_ / "fingerprint");
}

double LastGood::kept_at() const {
  const std::string t = read_kept(dir_ / "kept-at");
  return t.empty() ? 0 : std::atof(t.c_str());
}

std::optional<KernelError> LastGood::keep() {
  // The fingerprint is removed first and written last: a copy cut short
  // has none, and is never taken for a good one.
  ::unlink((dir_ / "fingerprint").c_str());
  for (const char* name : kOperatorFiles) {
    FileText t = read_regular_file(config_ / name);
    if (t.result == ReadResult::error)
      return KernelError{t.code, t.error, (config_ / name).string()};
    if (t.result == ReadResult::missing) {
      ::unlink((dir_ / name).c_str());
      continue;
    }
    if (auto e = files::write_own(dir_ / name, t.text)) return e;
  }
  ::chmod(dir_.c_str(), 0700);
  for (const char* lease : kLeaseDirs) {
    const auto link = dir_ / lease;
    std::error_code ec;
    if (std::filesystem::is_symlink(link, ec)) continue;
    std::filesystem::create_directory_symlink(std::filesystem::absolute(config_ / lease), link, ec);
    if (ec) return KernelError{ec.value(), ec.message(), link.string()};
  }
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (auto e = files::write_own(dir_ / "kept-at", fmt::format("{:.3f}\n", now))) return e;
  return files::write_own(dir_ / "fingerprint", fingerprint());
}

}  // namespace netkeep
