// netkeep's view of the nftables objects it owns, valid for one ruleset
// generation. Every nftables transaction in a network namespace increments
// its generation by one, so while the kernel reports the view's generation
// nothing has changed since the view was read or written, and the owned
// rules need not be dumped again (10,000 rules are about 7 MB and 70 ms of
// kernel time).
//
// The daemon keeps the view in memory. `apply` keeps it in a file between
// runs, tagged with the boot and the network namespace it describes, so a
// file from another boot or namespace is never believed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "model/nft.hpp"
#include "reconciler/kernel.hpp"

namespace netkeep {

struct NftView {
  uint32_t gen = 0;
  NftState state;
  std::string stamp;  // of the commit or dump it describes (nft_stamp.hpp); "" for none
};

// Which boot and which network namespace a view describes: the kernel's
// boot id and the namespace's cookie (SO_NETNS_COOKIE, Linux 5.14), which
// is never reused while the system runs. Empty when either is unknown.
std::string nft_view_identity(int netlink_fd);

// Where `apply` keeps the view between runs, and `plan`, `doctor` and
// `netkeep confirm` read it: ROOT/run/netkeep/nft-view.
inline std::filesystem::path nft_view_file(const std::filesystem::path& root) {
  return root / "run/netkeep/nft-view";
}

std::optional<NftView> load_nft_view(const std::filesystem::path& file,
                                     const std::string& identity);
// The file's contents; nullopt unless well formed and of `identity`.
std::optional<NftView> parse_nft_view(std::string_view data, const std::string& identity);
// Written to a temporary file and renamed into place; an error is for a
// warning: the view is an optimisation, never required.
std::optional<KernelError> save_nft_view(const std::filesystem::path& file,
                                         const std::string& identity, const NftView& view);

}  // namespace netkeep
