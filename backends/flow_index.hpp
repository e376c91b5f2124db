// The daemon's index of destination-NATed conntrack entries, so that a
// reconcile that ends flows in flight (reconciler/flows.hpp) finds them
// without a dump: a ctnetlink dump walks every bucket of the kernel's
// conntrack table (262,144 on a machine with 23 GB; ~10 ms) whatever it is
// filtered on. The index is built by one dump and then kept by ctnetlink's
// NEW and DESTROY events; when events were lost (ENOBUFS) or the kernel
// sends none (net.netfilter.nf_conntrack_events = 0), the next lookup
// dumps again. `netkeep apply` has no index: it dumps (conntrack.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "backends/conntrack.hpp"
#include "backends/netlink_watch.hpp"

namespace netkeep {

// The entries themselves: what events and dumps say, nothing read live.
class FlowIndex {
 public:
  // One ctnetlink event: a new entry (kept if destination-NATed) or a
  // destroyed one (dropped). Anything else is ignored; returns whether the
  // message was an event.
  bool apply(const nlmsghdr* nlh);
  // Every destination-NATed entry there is, from a dump.
  void reset(std::vector<conntrack::Entry> entries);
  // The entries each of `ends` matches (conntrack::matches).
  std::vector<std::vector<conntrack::Entry>> find(const std::vector<const FlowsEnd*>& ends) const;
  // Entries deleted or found gone: an entry that was there before the
  // events began sends no DESTROY event, so a failed delete is its end.
  void forget(const std::vector<conntrack::Entry>& gone);
  size_t size() const { return entries_.size(); }

 private:
  // Sorted by what a lookup asks (protocol, reply source address and
  // port: the old destination), then by original tuple and zone (what
  // identifies the entry to the kernel): a FlowsEnd reads one run of it.
  using Key = std::pair<uint64_t, std::string>;
  static Key key_of(const conntrack::Entry& e);
  std::map<Key, conntrack::Entry> entries_;
};

// The index kept live from its own event socket. The daemon reads the
// socket whenever it is readable (so it does not overflow between
// reconciles), and find() reads what is still queued before it looks.
class FlowTracker {
 public:
  FlowTracker();
  int fd() const { return watch_.fd(); }
  const std::string& error() const { return watch_.error(); }
  // Reads the queued events into the index.
  void drain();
  // The entries each of `ends` matches now: from the index, brought up to
  // date, or rebuilt first by a dump over `s` when it is not in sync.
  KernelResult<std::vector<std::vector<conntrack::Entry>>> find(
      nl::Socket& s, const std::vector<const FlowsEnd*>& ends);
  void forget(const std::vector<conntrack::Entry>& gone) { index_.forget(gone); }
  uint64_t dumps() const { return dumps_; }  // how often the index was rebuilt
  size_t size() const { return index_.size(); }

 private:
  NetlinkWatch watch_;
  FlowIndex index_;
  bool synced_ = false;  // the index holds every entry the events told of
  uint64_t dumps_ = 0;
};

}  // namespace netkeep
