// Reading config, lease and state files: only regular files of a bounded
// size; nothing can hang or balloon netkeep, and a vanished config
// directory is not a config that declares nothing.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "model/config.hpp"
#include "model/file_read.hpp"

using namespace netkeep;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char t[] = "/tmp/netkeep-files-XXXXXX";
    REQUIRE(mkdtemp(t));
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string diag_text(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d) s += x.str() + "\n";
  return s;
}

}  // namespace

TEST_CASE("a FIFO, a device, a dangling symlink or a directory is an error, at once") {
  TempDir dir;
  REQUIRE(mkfifo((dir.path / "portforwardings.json").c_str(), 0600) == 0);
  fs::create_symlink("/dev/zero", dir.path / "interfaces.json");
  fs::create_directories(dir.path / "dhcp4/wire");
  fs::create_symlink(dir.path / "nowhere", dir.path / "dhcp4/wire/lease.json");
  fs::create_directories(dir.path / "wireguard.json");
  Diagnostics d;
  const Desired desired = load_config(dir.path, d);  // must return: nothing blocks
  const std::string text = diag_text(d);
  CHECK(text.find("portforwardings.json: cannot read: a FIFO, not a regular file") !=
        std::string::npos);
  CHECK(text.find("interfaces.json: cannot read: a character device, not a regular file") !=
        std::string::npos);
  CHECK(text.find("dhcp4/wire/lease.json: cannot read: a dangling symlink") != std::string::npos);
  CHECK(text.find("wireguard.json: cannot read: a directory, not a regular file") !=
        std::string::npos);
  // Each is invalid (what it governs is frozen), not missing (declaring nothing).
  CHECK(desired.portforwardings.state == FileState::invalid);
  CHECK(desired.interfaces.state == FileState::invalid);
  CHECK(desired.dhcp4.state == FileState::invalid);
  CHECK(desired.wireguard.state == FileState::invalid);
  CHECK(desired.dhcp6.state == FileState::missing);  // a missing file still declares nothing
}

TEST_CASE("files have a size limit, also when they grow while being read") {
  TempDir dir;
  const fs::path big = dir.path / "big.json";
  { std::ofstream(big) << "{}"; }
  fs::resize_file(big, (16 << 20) + 1);
  FileText f = read_regular_file(big);
  CHECK(f.result == ReadResult::error);
  CHECK(f.error == "16777217 bytes, more than the 16 MiB allowed");
  CHECK(f.text.empty());
  fs::resize_file(big, 100);
  CHECK(read_regular_file(big, {64, true}).result == ReadResult::error);
  f = read_regular_file(big);
  CHECK(f.result == ReadResult::ok);
  CHECK(f.text.size() == 100);
}

TEST_CASE("netkeep's own state files are never read through a symlink") {
  TempDir dir;
  { std::ofstream(dir.path / "real") << "x"; }
  fs::create_symlink(dir.path / "real", dir.path / "link");
  CHECK(read_regular_file(dir.path / "link").result == ReadResult::ok);
  FileText f = read_regular_file(dir.path / "link", {64, false});
  CHECK(f.result == ReadResult::error);
  CHECK(f.error == "a symlink, which is not followed here");
  CHECK(read_regular_file(dir.path / "absent").result == ReadResult::missing);
}

TEST_CASE("a config directory that is not there freezes everything, with an error naming it") {
  Diagnostics d;
  const Desired desired = load_config("/nonexistent/netkeep-config", d);
  REQUIRE(d.size() == 1);
  CHECK(d[0].str() == "/nonexistent/netkeep-config: No such file or directory");
  for (FileState s : {desired.interfaces.state, desired.dhcp4.state, desired.dhcp6.state,
                      desired.portforwardings.state, desired.wireguard.state})
    CHECK(s == FileState::invalid);
}
