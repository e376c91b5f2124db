// The ops of one nftables transaction as messages (NftKernel::send), and
// the kernel's errors mapped back to the ops they are about. Pure functions
// over a Batch, so wire tests need no kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/nft_batch.hpp"
#include "reconciler/kernel.hpp"
#include "reconciler/op.hpp"

namespace netkeep::nft {

// Each unit of messages under one sequence number, and its ops in the
// order of their elements.
using Units = std::vector<std::vector<size_t>>;

// The ops' messages, each unit under its own sequence number from first + 1
// on: an op's (one message, or two for a changed forwarding), or
// consecutive additions to one map in one message and their count set's
// in another (up to kElemsPerMessage ops). A set made in the batch is
// declared with the number of elements the batch adds to it. With
// `echo_rules`, a new rule's message asks for its echo, which carries the
// handle the kernel gave it.
Units encode_ops(const std::vector<const Op*>& ops, uint32_t first, bool echo_rules, Batch& batch);

// The op (its index in the ops encoded) an error of the message with
// sequence number `seq` is about: its unit's one op, or the op whose
// element the extended ACK's offset `bad_attr` points at, else the unit's
// first; NftError::npos for a message of no op (the batch's frame, the
// stamp).
size_t op_of_error(const Units& units, uint32_t first, const Batch& batch, uint32_t seq,
                   uint32_t bad_attr);

}  // namespace netkeep::nft
