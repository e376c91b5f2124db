#include "backends/flow_index.hpp"

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <array>

#include "backends/sysctl.hpp"

namespace netkeep {

namespace {

uint64_t where(uint8_t proto, const std::array<uint8_t, 4>& addr, uint16_t port) {
  uint64_t w = proto;
  for (uint8_t b : addr) w = w << 8 | b;
  return w << 16 | port;
}

}  // namespace

FlowIndex::Key FlowIndex::key_of(const conntrack::Entry& e) {
  Key k{where(e.proto, e.reply_src, e.reply_sport), e.orig_tuple};
  if (e.zone) k.second.append(reinterpret_cast<const char*>(&*e.zone), sizeof *e.zone);
  return k;
}

bool FlowIndex::apply(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_CTNETLINK) return false;
  const auto msg = nlh->nlmsg_type & 0xff;
  if (msg != IPCTNL_MSG_CT_NEW && msg != IPCTNL_MSG_CT_DELETE) return false;
  auto e = conntrack::decode(nlh);
  if (!e) return true;  // another family's, or without its tuples
  if (msg == IPCTNL_MSG_CT_DELETE)
    entries_.erase(key_of(*e));
  else if (e->status & IPS_DST_NAT)
    entries_.insert_or_assign(key_of(*e), std::move(*e));
  return true;
}

void FlowIndex::reset(std::vector<conntrack::Entry> entries) {
  entries_.clear();
  for (auto& e : entries)
    if (e.status & IPS_DST_NAT) entries_.insert_or_assign(key_of(e), std::move(e));
}

std::vector<std::vector<conntrack::Entry>> FlowIndex::find(
    const std::vector<const FlowsEnd*>& ends) const {
  std::vector<std::vector<conntrack::Entry>> found(ends.size());
  for (size_t i = 0; i < ends.size(); i++) {
    const FlowsEnd& f = *ends[i];
    // The entries answered by the old destination at the ports its DNAT
    // mapped to; matches() then checks the original port against them.
    const uint64_t last = where(f.proto, f.to, f.to_ports.last);
    for (auto it = entries_.lower_bound({where(f.proto, f.to, f.to_ports.first), {}});
         it != entries_.end() && it->first.first <= last; ++it)
      if (conntrack::matches(it->second, f)) found[i].push_back(it->second);
  }
  return found;
}

void FlowIndex::forget(const std::vector<conntrack::Entry>& gone) {
  for (const auto& e : gone) entries_.erase(key_of(e));
}

FlowTracker::FlowTracker()
    : watch_(NETLINK_NETFILTER, {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY}) {}

void FlowTracker::drain() {
  if (watch_.drain([this](const nlmsghdr* nlh) { return index_.apply(nlh); }).overrun)
    synced_ = false;
}

KernelResult<std::vector<std::vector<conntrack::Entry>>> FlowTracker::find(
    nl::Socket& s, const std::vector<const FlowsEnd*>& ends) {
  drain();
  // Without events (switched off, or no conntrack yet) the index cannot
  // be kept: every lookup is a dump then.
  const auto events = sysctl::read("net/netfilter/nf_conntrack_events");
  if (!events || *events == "0") synced_ = false;
  if (!synced_) {
    auto all = conntrack::dump_dnat(s);
    if (!all) return unexpected(all.error());
    dumps_++;
    index_.reset(std::move(*all));
    synced_ = true;
    // The events queued meanwhile; an overrun here leaves the index as
    // good as the dump for this lookup (entries made since the commit
    // carry the new DNAT) and makes the next lookup dump again.
    drain();
  }
  return index_.find(ends);
}

}  // namespace netkeep
