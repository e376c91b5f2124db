// nftables messages: netkeep's ops encoded (headers, tables, chains and
// objects through libnftnl; rules are already in the kernel's encoding), and
// dumps decoded.
// Pure functions over buffers, so wire tests need no kernel.
#pragma once

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include <optional>
#include <string>
#include <vector>

#include "backends/netlink.hpp"
#include "backends/nft_batch.hpp"
#include "model/nft.hpp"
#include "backends/nft_set_codec.hpp"
#include "reconciler/op.hpp"

namespace netkeep::nft {

// Appends one op's messages (with sequence number `seq`) to `buf`; returns
// how many: one, or two for a forwarding change or one that also changes
// its count set.
size_t encode_op(const Op& op, uint32_t seq, Batch& buf);
// Batch framing: NFNL_MSG_BATCH_BEGIN / _END for the nftables subsystem.
// With `genid`, the batch is tied to that ruleset generation
// (NFNL_BATCH_GENID): if another transaction committed since, the kernel
// refuses the whole batch with ERESTART, as `nft` relies on too.
void encode_batch_begin(uint32_t seq, Batch& buf, std::optional<uint32_t> genid = std::nullopt);
void encode_batch_end(uint32_t seq, Batch& buf);

// A rule message (NEWRULE, from a dump, an event or an echo). Table and
// chain point into the message.
struct RuleMsg {
  NftFamily family;
  std::string_view table, chain;
  NftRule rule;
};
std::optional<RuleMsg> decode_rule(const nlmsghdr* nlh);
std::optional<NftChain> decode_chain(const nlmsghdr* nlh);  // without rules
std::optional<NftTable> decode_table(const nlmsghdr* nlh);
std::optional<NftCounter> decode_counter(const nlmsghdr* nlh);  // nullopt for other objects
std::optional<uint32_t> decode_gen(const nlmsghdr* nlh);

// What an event message is about: its message type and family, the table,
// and the chain (rules, chains) or object name. Cheap: no expression parsing.
struct Subject {
  uint8_t msg = 0;  // NFT_MSG_*
  NftFamily family = NftFamily::ip;
  std::string table, name;
};
std::optional<Subject> decode_subject(const nlmsghdr* nlh);

// Requests. A dump of rules is filtered by the kernel to one chain.
nl::Message request_gen();
nl::Message dump_tables();
nl::Message dump_chains();
nl::Message dump_objects();
nl::Message dump_rules(NftFamily family, const std::string& table, const std::string& chain);
nl::Message dump_all_rules();  // every table's, every family's

}  // namespace netkeep::nft
