// The nftables ruleset netkeep owns (SPEC §3), built as the expressions nft
// 1.0 would send for the same text, so a ruleset loaded with `nft -f` or
// made by an earlier netkeep is adopted with no change.
#pragma once

#include <optional>
#include <string>

#include "model/desired.hpp"
#include "model/nft.hpp"

namespace netkeep {

struct NftInputs {
  std::string uplink;         // oifname of the masquerade and MSS rules
  std::optional<Prefix> lan;  // lan0's configured prefix: excluded from DNAT
  std::vector<Forwarding> forwardings;
};

// `have`, the forwarding chain as it is, if known: remembered rules equal
// to its rule at the same place take on its bytes (see nft_desired.cpp).
NftState desired_ruleset(const NftInputs& in, const NftChain* have = nullptr);

// The daemon builds the forwarding rules on every reconcile, nearly all the
// same as last time. With this on, the rules of the last build are kept and
// reused (see nft_desired.cpp); a one-shot command leaves it off.
void remember_forwarding_rules(bool on);

// The rule of one forwarding (exposed for tests).
NftRule forwarding_rule(const Forwarding& f, const std::optional<Prefix>& lan);

inline constexpr const char* kForwardingChain = "router7-portforwardings";

}  // namespace netkeep
