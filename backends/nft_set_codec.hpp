// nftables messages for netkeep's sets: the forwarding maps and count
// sets (NEWSET, DELSET), their elements as port intervals (NEWSETELEM,
// DELSETELEM), and the decoding of their dumps. Pure functions over
// buffers, so wire tests need no kernel.
#pragma once

#include <linux/netfilter/nf_tables.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/netlink.hpp"
#include "backends/nft_batch.hpp"
#include "model/nft.hpp"
#include "reconciler/op.hpp"

namespace netkeep::nft {

// Appends the messages of a map, set or element op (NftMapAdd, NftMapDel,
// NftForward*, NftElem*) and returns how many (a forwarding's change, or
// one that also changes its count set, is two); 0 for any other op.
size_t encode_set_op(const Op& op, uint32_t seq, Batch& buf);

// NftMapAdd's message, for a set to which the same batch adds `elems`
// elements: from kFixedHashFrom on, a hash set is declared with room for
// every port, a fixed-size kernel hash table (see nft_set_codec.cpp).
void encode_map_add(const NftMapAdd& o, size_t elems, uint32_t seq, Batch& buf);
inline constexpr size_t kFixedHashFrom = 1024;

// Appends one NEWSETELEM message adding the elements of consecutive
// NftForwardAdd ops of one map (sequence number `seq`), and one adding
// those of their count set that need it (`count_seq`; 0: `seq` too). A
// cold apply of 10,000 forwardings is then a few dozen messages, not
// 10,000; the kernel's error for a message says which element it refused
// (elem_at).
size_t encode_forward_adds(const std::vector<const NftForwardAdd*>& adds, uint32_t seq, Batch& buf,
                           uint32_t count_seq = 0);  // returns the messages appended

// Which element of an element-list message (NEWSETELEM, DELSETELEM) lies
// `offset` bytes from its header (an extended ACK's NLMSGERR_ATTR_OFFS):
// the ordinal of the interval or port it starts (an interval's end element
// counts with its start); nullopt when none lies there.
std::optional<size_t> elem_at(const nlmsghdr* nlh, uint32_t offset);
// How many elements one such message carries at most.
inline constexpr size_t kElemsPerMessage = 256;
inline constexpr size_t kElemRoom = 192;  // an element: start (with data and counts) and end
static_assert(kMaxRoom >= kMaxMessage + kElemsPerMessage * kElemRoom);

// A set (NEWSET): whether it is of netkeep's type — for a forwarding map,
// key inet_service, data ipv4_addr . inet_service (8 bytes) or, for the
// map of ranges to themselves, its interval (16 bytes), flags map (and
// interval, for a ranges map, by its name), a counter on every element;
// for a count set (by its name), the same without data.
struct SetMsg {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool typed = false;
  NftMapKind kind = NftMapKind::dnat;  // a count set: a set of ports, no data
  bool interval = false;               // flags interval, whatever its name says
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
// Start and end elements of an interval set paired into intervals, sorted;
// an end without a start (nft writes one at key 0) is not an interval. In
// a hash set (`interval` false) each element is its one port.
std::vector<NftMapElem> intervals_of(std::vector<RawElem> raw, bool interval);

nl::Message dump_sets();
nl::Message dump_elems(NftFamily family, const std::string& table, const std::string& set);

}  // namespace netkeep::nft
