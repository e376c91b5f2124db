// The planner's part for LAN protection (nft_protect.hpp): the protection
// objects the config asks for, frozen where a file they come from is
// invalid, and the ops that make protection's sets equal to them.
#pragma once

#include <string>
#include <vector>

#include "model/desired.hpp"
#include "model/nft.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

struct PinholeKeys;  // reconciler/pinhole_keys.hpp

// lan0's delegated /64s, on which dest_iid pinholes live: the dhcp6
// lease's IPv6 prefixes, none while it has ended.
std::vector<Prefix> delegated_prefixes(const Desired& d);

// Adds to `want` the protection objects of firewall.json. Where the kernel
// holds them and a file they come from is invalid, what it holds stands
// in, so nothing of it changes: everything when firewall.json is invalid;
// the pinholes when a dest_iid needs the dhcp6 lease and it is invalid; the
// open ports when wireguard.json is. Returns the warnings.
// `keys`: as plan()'s `pinholes`.
std::vector<std::string> want_protection(const Desired& d, const NftState& have,
                                         const std::string& uplink, NftState& want,
                                         const PinholeKeys* keys = nullptr);

// Brings `keys` to the pinholes `d` asks for (prepare, before planning
// with them); invalid when protection wants none.
void keep_pinhole_keys(PinholeKeys& keys, const Desired& d);

// The ops for protection's sets: each wanted one created when missing, or
// deleted and created again when of another type (`remade`: its family's
// protection chains, which use it, are then made again in full); elements
// deleted and added by key; sets `want` lacks deleted (after their chains).
struct KeySetOps {
  std::vector<Op> set_dels, set_adds, elem_dels, elem_adds;
  std::vector<NftFamily> remade;
};
KeySetOps diff_keysets(const NftState& have, const NftState& want);

}  // namespace netkeep
