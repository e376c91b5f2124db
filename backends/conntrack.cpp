#include "backends/conntrack.hpp"

#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace netkeep::conntrack {

namespace {

// The kernel's filter flags for CTA_FILTER_*_FLAGS (not in its uapi
// headers; nf_conntrack_netlink.c and libnetfilter_conntrack agree on them).
constexpr uint32_t kFilterIpSrc = 1u << 0;
constexpr uint32_t kFilterProtoNum = 1u << 3;
constexpr uint32_t kFilterProtoSrcPort = 1u << 4;

uint16_t type_of(uint8_t msg) {
  return static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | msg);
}

void put_nfgenmsg(nl::Message& m) {
  auto* g = m.put_header<nfgenmsg>();
  g->nfgen_family = AF_INET;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
}

struct Tuple {
  bool ok = false;
  std::array<uint8_t, 4> src{};
  uint8_t proto = 0;
  uint16_t sport = 0, dport = 0;
};

Tuple tuple_of(const nlattr* t) {
  Tuple out;
  bool ip = false;
  for (const nlattr* a : nl::Attrs::nested(t)) {
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_IP:
        for (const nlattr* b : nl::Attrs::nested(a))
          if (mnl_attr_get_type(b) == CTA_IP_V4_SRC && mnl_attr_get_payload_len(b) == 4) {
            std::memcpy(out.src.data(), mnl_attr_get_payload(b), 4);
            ip = true;
          }
        break;
      case CTA_TUPLE_PROTO:
        for (const nlattr* b : nl::Attrs::nested(a)) {
          const uint16_t len = mnl_attr_get_payload_len(b);
          switch (mnl_attr_get_type(b)) {
            case CTA_PROTO_NUM:
              if (len == 1) out.proto = mnl_attr_get_u8(b);
              break;
            case CTA_PROTO_SRC_PORT:
              if (len == 2) out.sport = ntohs(mnl_attr_get_u16(b));
              break;
            case CTA_PROTO_DST_PORT:
              if (len == 2) out.dport = ntohs(mnl_attr_get_u16(b));
              break;
          }
        }
        break;
    }
  }
  out.ok = ip && out.proto != 0;
  return out;
}

}  // namespace

nl::Message encode_dump(const FlowsEnd* ends) {
  nl::Message m(type_of(IPCTNL_MSG_CT_GET), 0);
  put_nfgenmsg(m);
  nlmsghdr* h = m.hdr();
  mnl_attr_put_u32(h, CTA_STATUS, htonl(IPS_DST_NAT));
  mnl_attr_put_u32(h, CTA_STATUS_MASK, htonl(IPS_DST_NAT));
  if (!ends) return m;
  const FlowsEnd& f = *ends;
  nlattr* reply = mnl_attr_nest_start(h, CTA_TUPLE_REPLY);
  nlattr* ip = mnl_attr_nest_start(h, CTA_TUPLE_IP);
  mnl_attr_put(h, CTA_IP_V4_SRC, 4, f.to.data());
  mnl_attr_nest_end(h, ip);
  nlattr* proto = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(h, CTA_PROTO_NUM, f.proto);
  // One port: the kernel can match it too; a range is matched here.
  const bool one_port = f.ports.single();
  if (one_port) mnl_attr_put_u16(h, CTA_PROTO_SRC_PORT, htons(f.to_ports.first));
  mnl_attr_nest_end(h, proto);
  mnl_attr_nest_end(h, reply);
  // CTA_FILTER is parsed strictly: its nest must say it is one.
  nlattr* filter = mnl_attr_nest_start(h, CTA_FILTER | NLA_F_NESTED);
  mnl_attr_put_u32(h, CTA_FILTER_REPLY_FLAGS,
                   kFilterIpSrc | kFilterProtoNum | (one_port ? kFilterProtoSrcPort : 0));
  mnl_attr_nest_end(h, filter);
  return m;
}

std::optional<Entry> decode(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type != type_of(IPCTNL_MSG_CT_NEW) &&
       nlh->nlmsg_type != type_of(IPCTNL_MSG_CT_DELETE)) ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nfgenmsg)))
    return std::nullopt;
  Entry e;
  Tuple orig, reply;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(nfgenmsg))) {
    const uint16_t len = mnl_attr_get_payload_len(a);
    switch (mnl_attr_get_type(a)) {
      case CTA_TUPLE_ORIG:
        if (a->nla_len > 512) return std::nullopt;  // a tuple is some 50 bytes
        orig = tuple_of(a);
        e.orig_tuple.assign(reinterpret_cast<const char*>(a), a->nla_len);
        break;
      case CTA_TUPLE_REPLY:
        reply = tuple_of(a);
        break;
      case CTA_STATUS:
        if (len == 4) e.status = ntohl(mnl_attr_get_u32(a));
        break;
      case CTA_ID:
        if (len == 4) e.id = mnl_attr_get_u32(a);
        break;
      case CTA_ZONE:
        if (len == 2) e.zone = mnl_attr_get_u16(a);
        break;
    }
  }
  if (!orig.ok || !reply.ok) return std::nullopt;
  e.proto = orig.proto;
  e.orig_dport = orig.dport;
  e.reply_src = reply.src;
  e.reply_sport = reply.sport;
  return e;
}

bool matches(const Entry& e, const FlowsEnd& f) {
  return (e.status & IPS_DST_NAT) && e.proto == f.proto && e.reply_src == f.to &&
         f.ports.first <= e.orig_dport && e.orig_dport <= f.ports.last &&
         e.reply_sport == f.to_port(e.orig_dport);
}

nl::Message encode_delete(const Entry& e) {
  nl::Message m(type_of(IPCTNL_MSG_CT_DELETE), 0);
  put_nfgenmsg(m);
  nlmsghdr* h = m.hdr();
  // The original tuple as the kernel sent it (the attribute's own header
  // included), then the id that pins this very entry.
  std::memcpy(mnl_nlmsg_get_payload_tail(h), e.orig_tuple.data(), e.orig_tuple.size());
  h->nlmsg_len += MNL_ALIGN(static_cast<uint32_t>(e.orig_tuple.size()));
  if (e.id) mnl_attr_put_u32(h, CTA_ID, *e.id);
  if (e.zone) mnl_attr_put_u16(h, CTA_ZONE, *e.zone);
  return m;
}

KernelResult<std::vector<std::vector<Entry>>> find(nl::Socket& s,
                                                   const std::vector<const FlowsEnd*>& ends) {
  std::vector<std::vector<Entry>> found(ends.size());
  // Which ops an entry may belong to, by its protocol and reply source.
  auto key = [](uint8_t proto, const std::array<uint8_t, 4>& a) {
    uint64_t k = proto;
    for (uint8_t b : a) k = k << 8 | b;
    return k;
  };
  std::unordered_map<uint64_t, std::vector<size_t>> by_source;
  for (size_t i = 0; i < ends.size(); i++) by_source[key(ends[i]->proto, ends[i]->to)].push_back(i);
  nl::Message dump = encode_dump(ends.size() == 1 ? ends[0] : nullptr);
  auto err = s.dump(dump.hdr(), [&](const nlmsghdr* nlh) {
    auto e = decode(nlh);
    if (!e) return;
    auto it = by_source.find(key(e->proto, e->reply_src));
    if (it == by_source.end()) return;
    for (size_t i : it->second)
      if (matches(*e, *ends[i])) {
        found[i].push_back(std::move(*e));
        return;
      }
  });
  if (err) {
    err->what = "reading conntrack entries";
    return unexpected(*err);
  }
  return found;
}

KernelResult<std::vector<Entry>> dump_dnat(nl::Socket& s) {
  std::vector<Entry> all;
  nl::Message dump = encode_dump(nullptr);
  auto err = s.dump(dump.hdr(), [&](const nlmsghdr* nlh) {
    if (auto e = decode(nlh)) all.push_back(std::move(*e));
  });
  if (err) {
    err->what = "reading conntrack entries";
    return unexpected(*err);
  }
  return all;
}

KernelResult<uint64_t> erase(nl::Socket& s, const std::vector<Entry>& entries) {
  uint64_t deleted = 0;
  for (const auto& e : entries) {
    nl::Message del = encode_delete(e);
    auto err = s.request(del.hdr());
    if (!err) {
      deleted++;
    } else if (err->code != ENOENT) {  // ENOENT: it ended meanwhile
      err->what = "deleting a conntrack entry";
      return unexpected(*err);
    }
  }
  return deleted;
}

}  // namespace netkeep::conntrack
