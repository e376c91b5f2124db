// The view's stamp: a random value netkeep writes with each of its
// nftables commits, as the comment of an empty chain in its own table
// (`chain view { comment "netkeep view 3f9c…" }` in `ip netkeep`, nothing
// jumps to it). A view kept in a file records the stamp of the commit or
// dump it describes; before `apply` believes such a view it reads the
// chain (one request): a view copied from another namespace, or an older
// one whose generation was patched, carries another stamp and is not
// believed. Internal to backends/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backends/netlink.hpp"
#include "backends/nft_batch.hpp"

namespace netkeep::nft {

inline constexpr const char* kStampChain = "view";  // in kCountTable, family ip

std::string new_stamp();  // "netkeep view " and 16 random hex digits

// Appends the messages that replace the stamp with `stamp`: the chain is
// deleted and made again with the new comment (the kernel cannot change a
// chain's comment in place); when it is not there (`exists` false), the
// table is made if missing and the chain made. Returns how many messages.
size_t encode_stamp(const std::string& stamp, bool exists, uint32_t seq, Batch& buf);

// The stamp in a chain message of the stamp chain; nullopt for any other
// message ("" for the chain without a comment).
std::optional<std::string> decode_stamp(const nlmsghdr* nlh);

nl::Message request_stamp();  // a GETCHAIN of the stamp chain alone

}  // namespace netkeep::nft
