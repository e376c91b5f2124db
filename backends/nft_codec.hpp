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
#include "model/nft.hpp"
#include "reconciler/op.hpp"

namespace netkeep::nft {

// Appends one op's messages (with sequence number `seq`) to `buf`; returns
// how many: one, or two for a forwarding change or one that also changes
// its count set.
size_t encode_op(const Op& op, uint32_t seq, std::vector<char>& buf);
// Appends one NEWSETELEM message adding the elements of consecutive
// NftForwardAdd ops of one map. A cold apply of 10,000 forwardings is then
// a few dozen messages, not 10,000; the kernel's error for the message
// names the first of them.
size_t encode_forward_adds(const std::vector<const NftForwardAdd*>& adds, uint32_t seq,
                           std::vector<char>& buf);  // returns the messages appended
// How many elements one such message carries at most.
inline constexpr size_t kElemsPerMessage = 256;
// Batch framing: NFNL_MSG_BATCH_BEGIN / _END for the nftables subsystem.
// With `genid`, the batch is tied to that ruleset generation
// (NFNL_BATCH_GENID): if another transaction committed since, the kernel
// refuses the whole batch with ERESTART, as `nft` relies on too.
void encode_batch_begin(uint32_t seq, std::vector<char>& buf,
                        std::optional<uint32_t> genid = std::nullopt);
void encode_batch_end(uint32_t seq, std::vector<char>& buf);

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

// A set (NEWSET): whether it is of netkeep's type — for a forwarding map,
// key inet_service, data interval ipv4_addr . inet_service (16 bytes), flags
// map and interval, a counter on every element; for a count set (by its
// name), the same without data.
struct SetMsg {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool typed = false;
  NftMapKind kind = NftMapKind::dnat;  // a count set: an interval set of ports, no data
};
std::optional<SetMsg> decode_set(const nlmsghdr* nlh);

// One element as the kernel dumps it. An interval set holds an interval
// [a, b] as a start element a (with the data) and an end element b + 1
// (flag NFT_SET_ELEM_INTERVAL_END; none when b is the largest key).
struct RawElem {
  uint16_t key = 0;
  bool end = false;
  std::string data;  // 16 bytes for a forwarding map's start element
  uint64_t packets = 0, bytes = 0;
};
// The elements of a NEWSETELEM message of `table` and `set`; false if it is
// not one.
bool decode_elems(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                  std::string_view set, std::vector<RawElem>& out);
// Start and end elements paired into intervals, sorted; an end without a
// start (nft writes one at key 0) is not an interval.
std::vector<NftMapElem> intervals_of(std::vector<RawElem> raw);

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
nl::Message dump_sets();
nl::Message dump_elems(NftFamily family, const std::string& table, const std::string& set);

}  // namespace netkeep::nft
