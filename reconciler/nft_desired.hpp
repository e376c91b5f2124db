// The nftables ruleset netkeep owns (SPEC §3), built as the expressions nft
// 1.0 would send for the same text, so a ruleset loaded with `nft -f` or
// made by an earlier netkeep is adopted with no change. Port forwarding's
// part (its chain, maps and count sets) is nft_forwarding.hpp's.
#pragma once

#include <optional>
#include <string>

#include "model/desired.hpp"
#include "model/nft.hpp"
#include "reconciler/nft_forwarding.hpp"

namespace netkeep {

struct NftInputs {
  std::string uplink;         // oifname of the masquerade and MSS rules
  std::optional<Prefix> lan;  // lan0's configured prefix: excluded from DNAT
  std::vector<Forwarding> forwardings;
  std::vector<PortRun> runs = {};  // their first-match runs; computed here when empty
  // The config's forwardings and runs, read in place of the two above
  // (the planner's: thousands of forwardings are not copied for it).
  const PortForwardings* config = nullptr;
  // false (the planner's): the count sets are made without elements, marked
  // NftMap::keys_of_map; their keys are their forwarding maps' keys.
  bool count_elems = true;
};

NftState desired_ruleset(const NftInputs& in);

// The objects netkeep owns (SPEC §3), by name: those desired_ruleset makes,
// whatever the config (its names never depend on it), and protection's
// (nft_protect.hpp). Tables are shared
// with other programs (netkeep adds them when missing, never deletes them).
bool nft_owned_table(NftFamily family, std::string_view name);
bool nft_owned_chain(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_counter(NftFamily family, std::string_view table, std::string_view name);
bool nft_owned_map(NftFamily family, std::string_view table, std::string_view name);
// A forwarding map or count set, or one of protection's sets.
bool nft_owned_set(NftFamily family, std::string_view table, std::string_view name);

}  // namespace netkeep
