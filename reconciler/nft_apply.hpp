// One nftables op applied to a value of the owned objects, with the kernel's
// semantics (ENOENT, EEXIST, positions by handle). The fake kernel runs its
// transactions on it; the Linux backend keeps its generation-checked view of
// the owned objects current with it after its own commits.
#pragma once

#include <optional>

#include "model/nft.hpp"
#include "reconciler/kernel.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

// `handle` is the new rule's, for an NftRuleAdd.
std::optional<KernelError> apply_nft_op(NftState& s, const Op& op, uint64_t handle);

}  // namespace netkeep
