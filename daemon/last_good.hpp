// The last good config of `netkeep run --confirm`: a copy of the
// operator's files (interfaces.json, portforwardings.json, wireguard.json)
// that passed the health checks, under ROOT/var/lib/netkeep/last-good/
// (directory 0700, files 0600: wireguard.json holds private keys). The
// DHCP leases are not the operator's: the copy links to the live ones, so
// a config rolled back to still follows the current leases.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "reconciler/kernel.hpp"

namespace netkeep {

class LastGood {
 public:
  LastGood(std::filesystem::path config, std::filesystem::path dir);

  // Of the operator's files in the live config dir: their contents, hashed.
  std::string fingerprint() const;
  // Of the kept copy; empty when there is none.
  std::string kept() const;
  double kept_at() const;  // Unix time it was kept; 0 when none
  // Keeps the live operator's files as the last good config. The error
  // names the file.
  std::optional<KernelError> keep();
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path config_, dir_;
};

}  // namespace netkeep
