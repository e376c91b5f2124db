// The nftables part of a plan as an `nft -f` script (`netkeep plan --nft`),
// for a reviewer who reads nft, or who wants the kernel's own opinion of it
// (`nft -c -f`). Loaded with `nft -f`, the script makes the same change as
// the plan's nftables ops, in one transaction; the plan's other ops (links,
// addresses, routes, sysctls, files, conntrack) are not in it.
#pragma once

#include <string>

#include "reconciler/op.hpp"

namespace netkeep {

std::string to_nft_script(const Plan& p);

}  // namespace netkeep
