// nftables messages for LAN protection's sets of exact keys
// (reconciler/nft_protect.hpp): the sets (NEWSET, DELSET) with the type
// their name says, their elements (NEWSETELEM, DELSETELEM), and the
// decoding of their dumps. Pure functions over buffers, so wire tests need
// no kernel.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "backends/netlink.hpp"
#include "backends/nft_batch.hpp"
#include "model/nft.hpp"
#include "reconciler/op.hpp"

namespace netkeep::nft {

// Appends the message of an NftKeySetAdd, NftKeySetDel, NftKeyElemAdd or
// NftKeyElemDel and returns 1; 0 for any other op.
size_t encode_keyset_op(const Op& op, uint32_t seq, Batch& buf);

// A set of protection's (by its name) as the kernel dumps it, without its
// elements: `typed` when its key, data, flags and counters are those its
// name says.
std::optional<NftKeySet> decode_keyset(const nlmsghdr* nlh);

// The elements of a NEWSETELEM message of `table` and `set`, appended to
// `out` (unsorted); false if it is not one.
bool decode_key_elems(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                      std::string_view set, std::vector<NftKeyElem>& out);

}  // namespace netkeep::nft
