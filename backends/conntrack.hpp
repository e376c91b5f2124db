// Flows in flight over ctnetlink: the conntrack entries a FlowsEnd names
// (reconciler/op.hpp) are found by a dump the kernel filters (reply source
// address, protocol, and for one port the reply source port; status
// destination-NATed) and deleted one by one, each by its original tuple and
// id, so an entry replaced meanwhile is left alone. Never a table flush.
// libmnl rather than libnetfilter_conntrack: the messages are small, and
// the dump, ACK and extended-ACK handling is the socket netkeep already has.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backends/netlink.hpp"
#include "reconciler/op.hpp"

namespace netkeep::conntrack {

// One dumped entry, as much as matching and deleting it need.
struct Entry {
  uint8_t proto = 0;
  uint16_t orig_dport = 0;
  std::array<uint8_t, 4> reply_src{};
  uint16_t reply_sport = 0;
  uint32_t status = 0;
  std::string orig_tuple;        // the CTA_TUPLE_ORIG attribute, whole, to delete by
  std::optional<uint32_t> id;    // CTA_ID, network order as the kernel sent it
  std::optional<uint16_t> zone;  // CTA_ZONE, network order
};

// The dump request for `f`'s entries (IPv4; the filter narrows what the
// kernel sends, matches() decides); for several FlowsEnd ops (nullptr),
// every destination-NATed IPv4 entry: one walk of the table for them all.
nl::Message encode_dump(const FlowsEnd* f);
// An entry of a dump or of a NEW or DESTROY event, or nullopt for a
// message that is none (or lacks its tuples).
std::optional<Entry> decode(const nlmsghdr* nlh);
// Whether `f` ends `e`: destination-NATed, from `f.to` at the port the
// DNAT gave its original destination port, which is in `f.ports`.
bool matches(const Entry& e, const FlowsEnd& f);
nl::Message encode_delete(const Entry& e);

// The entries each of `ends` matches, from one dump.
KernelResult<std::vector<std::vector<Entry>>> find(nl::Socket& s,
                                                   const std::vector<const FlowsEnd*>& ends);
// Every destination-NATed IPv4 entry (flow_index.hpp's rebuild).
KernelResult<std::vector<Entry>> dump_dnat(nl::Socket& s);
// Deletes `entries`; returns how many it deleted (one gone meanwhile is
// not counted).
KernelResult<uint64_t> erase(nl::Socket& s, const std::vector<Entry>& entries);

}  // namespace netkeep::conntrack
