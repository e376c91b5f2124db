#include "backends/nft_codec.hpp"

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <arpa/inet.h>
#include <endian.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "reconciler/nft_desired.hpp"

namespace netkeep::nft {

namespace {

template <class T, void (*Free)(const T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, Deleter<nftnl_obj, nftnl_obj_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;

// Room for one message at the end of `buf`; returns where it starts.
// netkeep's largest message, a forwarding rule, is under 1 KiB.
constexpr size_t kMaxMessage = 4096;

char* reserve(std::vector<char>& buf, size_t& start, size_t room = kMaxMessage) {
  start = buf.size();
  buf.resize(start + room);
  return buf.data() + start;
}

void commit(std::vector<char>& buf, size_t start, size_t room = kMaxMessage) {
  auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data() + start);
  if (nlh->nlmsg_len > room) throw std::length_error("nftables message larger than its buffer");
  buf.resize(start + NLMSG_ALIGN(nlh->nlmsg_len));
}

uint16_t family_u16(NftFamily f) {
  return static_cast<uint16_t>(f);
}

// Rules are modelled as the kernel dumps them. The kernel dumps
// NFTA_EXTHDR_FLAGS for a TCP-option write too, but refuses the attribute
// on input (nft_exthdr_tcp_set_init: EINVAL), so it is not sent.
RuleBody sendable(const RuleBody& body) {
  if (body.find("exthdr") == std::string::npos) return body;
  auto exprs = decode_exprs(body);
  for (auto& e : exprs) {
    auto has = [&](uint16_t t) {
      return std::any_of(e.attrs.begin(), e.attrs.end(),
                         [&](const NftAttr& a) { return a.type == t; });
    };
    if (e.name == "exthdr" && has(NFTA_EXTHDR_SREG))
      std::erase_if(e.attrs, [](const NftAttr& a) { return a.type == NFTA_EXTHDR_FLAGS; });
  }
  return encode_exprs(exprs);
}

nlmsghdr* header(char* at, uint16_t type, NftFamily family, uint16_t flags, uint32_t seq) {
  return nftnl_nlmsg_build_hdr(at, type, family_u16(family), flags, seq);
}

void encode_rule_add(const NftRuleAdd& o, uint32_t seq, std::vector<char>& buf) {
  // Without NLM_F_APPEND and with a position the kernel inserts before it.
  const uint16_t flags = NLM_F_CREATE | (o.place == RulePlace::append ? NLM_F_APPEND : 0);
  size_t start;
  nlmsghdr* nlh = header(reserve(buf, start), NFT_MSG_NEWRULE, o.family, flags, seq);
  mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, o.table.c_str());
  mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, o.chain.c_str());
  if (o.place == RulePlace::before_handle)
    mnl_attr_put_u64(nlh, NFTA_RULE_POSITION, htobe64(o.ref));
  nlattr* exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
  const RuleBody body = sendable(o.body);
  if (body.size() > kMaxMessage / 2)
    throw std::length_error("nftables rule larger than its buffer");
  std::memcpy(mnl_nlmsg_get_payload_tail(nlh), body.data(), body.size());
  nlh->nlmsg_len += static_cast<uint32_t>(MNL_ALIGN(body.size()));
  mnl_attr_nest_end(nlh, exprs);
  mnl_attr_put_u32(nlh, NFTA_RULE_ID, htonl(o.id));
  commit(buf, start);
}

void encode_chain(uint16_t type, NftFamily family, const std::string& table,
                  const std::string& name, const std::optional<BaseChain>& base, uint16_t flags,
                  uint32_t seq, std::vector<char>& buf) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family_u16(family));
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
  if (base) {
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, base->type.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, base->hook);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, base->priority);
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, base->policy);
  }
  size_t start;
  nlmsghdr* nlh = header(reserve(buf, start), type, family, flags, seq);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  commit(buf, start);
}

// The forwarding maps' type, as nft 1.0 declares `type inet_service :
// interval ipv4_addr . inet_service; flags interval; counter`.
constexpr uint32_t kInetService = 13, kIpv4Addr = 7;  // nft's datatype numbers
constexpr uint32_t kMapKeyLen = 2, kMapDataLen = 16;
constexpr uint32_t kMapFlags = NFT_SET_MAP | NFT_SET_INTERVAL;
constexpr uint32_t kCountFlags = NFT_SET_INTERVAL;
// nft's own description of that type (key and data byte order, the data's
// parts, and that the data is an interval), so `nft list` prints the map
// as it was declared. The kernel keeps it and never reads it.
constexpr unsigned char kCountUserdata[] = {0x00, 0x04, 0x02, 0x00, 0x00, 0x00};  // key order only
constexpr unsigned char kMapUserdata[] = {
    0x00, 0x04, 0x02, 0x00, 0x00, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x04, 0x08,
    0x00, 0x04, 0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x04, 0x01, 0x00, 0x00, 0x00};

SetPtr set_of(NftFamily family, const std::string& table, const std::string& name) {
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, family_u16(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  return s;
}

void encode_map_add(const NftMapAdd& o, uint32_t seq, std::vector<char>& buf) {
  SetPtr s = set_of(o.family, o.table, o.name);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, kInetService);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, kMapKeyLen);
  if (o.kind == NftMapKind::dnat) {
    nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, kMapFlags);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, kIpv4Addr << 6 | kInetService);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, kMapDataLen);
    nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, kMapUserdata, sizeof kMapUserdata);
  } else {
    nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, kCountFlags);
    nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, kCountUserdata, sizeof kCountUserdata);
  }
  nftnl_set_add_expr(s.get(), nftnl_expr_alloc("counter"));  // each element gets one
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, seq);             // required, unique within the batch
  size_t start;
  nlmsghdr* nlh = header(reserve(buf, start), NFT_MSG_NEWSET, o.family, NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  commit(buf, start);
}

// An interval's start element (with its data, when adding) and end element.
void put_interval(nftnl_set* s, const NftMapElem& e, bool with_data) {
  const uint16_t key = htons(e.first);
  nftnl_set_elem* start = nftnl_set_elem_alloc();
  nftnl_set_elem_set(start, NFTNL_SET_ELEM_KEY, &key, sizeof key);
  if (with_data) {
    char data[kMapDataLen] = {};
    const uint16_t lo = htons(e.to_first), hi = htons(e.to_last);
    std::memcpy(data, e.addr.data(), 4);
    std::memcpy(data + 4, &lo, 2);
    std::memcpy(data + 8, e.addr.data(), 4);
    std::memcpy(data + 12, &hi, 2);
    nftnl_set_elem_set(start, NFTNL_SET_ELEM_DATA, data, sizeof data);
  }
  nftnl_set_elem_add(s, start);
  if (e.last == 0xffff) return;  // open to the end: no end element
  const uint16_t after = htons(static_cast<uint16_t>(e.last + 1));
  nftnl_set_elem* end = nftnl_set_elem_alloc();
  nftnl_set_elem_set(end, NFTNL_SET_ELEM_KEY, &after, sizeof after);
  nftnl_set_elem_set_u32(end, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
  nftnl_set_elem_add(s, end);
}

// One message adding (with their data, to a map) or deleting elements.
void encode_elems(uint16_t type, NftFamily family, const std::string& table, const std::string& map,
                  const std::vector<const NftMapElem*>& elems, bool with_data, uint32_t seq,
                  std::vector<char>& buf) {
  SetPtr s = set_of(family, table, map);
  for (const NftMapElem* e : elems) put_interval(s.get(), *e, with_data);
  // NLM_F_EXCL: an element already there is an error, never overwritten.
  const uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0;
  size_t start;
  // An element is two nested elements of under 64 bytes each.
  nlmsghdr* nlh =
      header(reserve(buf, start, kMaxMessage + elems.size() * 128), type, family, flags, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  commit(buf, start, kMaxMessage + elems.size() * 128);
}

void encode_elem(uint16_t type, NftFamily family, const std::string& table, const std::string& map,
                 const NftMapElem& e, uint32_t seq, std::vector<char>& buf) {
  encode_elems(type, family, table, map, {&e}, type == NFT_MSG_NEWSETELEM, seq, buf);
}

// A forwarding's element of its map and, with `count`, of its count set.
size_t encode_forward(uint16_t type, NftFamily family, const std::string& table,
                      const std::string& map, const std::string& count, const NftMapElem& e,
                      uint32_t seq, std::vector<char>& buf) {
  encode_elem(type, family, table, map, e, seq, buf);
  if (count.empty()) return 1;
  encode_elems(type, family, kCountTable, count, {&e}, false, seq, buf);
  return 2;
}

}  // namespace

size_t encode_forward_adds(const std::vector<const NftForwardAdd*>& adds, uint32_t seq,
                           std::vector<char>& buf) {
  std::vector<const NftMapElem*> elems, counted;
  elems.reserve(adds.size());
  for (const NftForwardAdd* a : adds) {
    elems.push_back(&a->elem);
    if (!a->count.empty()) counted.push_back(&a->elem);
  }
  const NftForwardAdd& first = *adds.front();
  encode_elems(NFT_MSG_NEWSETELEM, first.family, first.table, first.map, elems, true, seq, buf);
  if (counted.empty()) return 1;
  // The count set is the protocol's: every op of a group has the same one.
  encode_elems(NFT_MSG_NEWSETELEM, first.family, kCountTable, count_set(first.proto), counted,
               false, seq, buf);
  return 2;
}

void encode_batch_begin(uint32_t seq, std::vector<char>& buf, std::optional<uint32_t> genid) {
  size_t start;
  nftnl_batch_begin(reserve(buf, start), seq);
  if (genid)
    mnl_attr_put_u32(reinterpret_cast<nlmsghdr*>(buf.data() + start), NFNL_BATCH_GENID,
                     htonl(*genid));
  commit(buf, start);
}

void encode_batch_end(uint32_t seq, std::vector<char>& buf) {
  size_t start;
  nftnl_batch_end(reserve(buf, start), seq);
  commit(buf, start);
}

// Every other op: one message.
static void encode_single(const Op& op, uint32_t seq, std::vector<char>& buf);

size_t encode_op(const Op& op, uint32_t seq, std::vector<char>& buf) {
  if (auto* o = std::get_if<NftForwardAdd>(&op))
    return encode_forward(NFT_MSG_NEWSETELEM, o->family, o->table, o->map, o->count, o->elem, seq,
                          buf);
  if (auto* o = std::get_if<NftForwardDel>(&op))
    return encode_forward(NFT_MSG_DELSETELEM, o->family, o->table, o->map, o->count, o->elem, seq,
                          buf);
  if (auto* o = std::get_if<NftForwardChange>(&op)) {
    // Two messages under one sequence number: an error in either names the op.
    encode_elem(NFT_MSG_DELSETELEM, o->family, o->table, o->map, o->from, seq, buf);
    encode_elem(NFT_MSG_NEWSETELEM, o->family, o->table, o->map, o->to, seq, buf);
    return 2;
  }
  if (auto* o = std::get_if<NftElemAdd>(&op)) {
    encode_elems(NFT_MSG_NEWSETELEM, o->family, o->table, o->set, {&o->elem}, false, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftElemDel>(&op)) {
    encode_elems(NFT_MSG_DELSETELEM, o->family, o->table, o->set, {&o->elem}, false, seq, buf);
    return 1;
  }
  encode_single(op, seq, buf);
  return 1;
}

static void encode_single(const Op& op, uint32_t seq, std::vector<char>& buf) {
  size_t start;
  if (auto* o = std::get_if<NftRuleAdd>(&op)) return encode_rule_add(*o, seq, buf);
  if (auto* o = std::get_if<NftRuleDel>(&op)) {
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_u16(o->family));
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, o->table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, o->chain.c_str());
    nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, o->handle);
    nlmsghdr* nlh = header(reserve(buf, start), NFT_MSG_DELRULE, o->family, 0, seq);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    return commit(buf, start);
  }
  if (auto* o = std::get_if<NftChainAdd>(&op))
    return encode_chain(NFT_MSG_NEWCHAIN, o->family, o->table, o->name, o->base, NLM_F_CREATE, seq,
                        buf);
  if (auto* o = std::get_if<NftChainDel>(&op))
    return encode_chain(NFT_MSG_DELCHAIN, o->family, o->table, o->name, std::nullopt, 0, seq, buf);
  if (auto* o = std::get_if<NftTableAdd>(&op)) {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family_u16(o->table.family));
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, o->table.name.c_str());
    nlmsghdr* nlh =
        header(reserve(buf, start), NFT_MSG_NEWTABLE, o->table.family, NLM_F_CREATE, seq);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    return commit(buf, start);
  }
  if (auto* o = std::get_if<NftMapAdd>(&op)) return encode_map_add(*o, seq, buf);
  if (auto* o = std::get_if<NftMapDel>(&op)) {
    SetPtr set = set_of(o->family, o->table, o->name);
    nlmsghdr* nlh = header(reserve(buf, start), NFT_MSG_DELSET, o->family, 0, seq);
    nftnl_set_nlmsg_build_payload(nlh, set.get());
    return commit(buf, start);
  }
  if (auto* o = std::get_if<NftCounterAdd>(&op)) {
    ObjPtr obj(nftnl_obj_alloc());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_FAMILY, family_u16(o->family));
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_TABLE, o->table.c_str());
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_NAME, o->name.c_str());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    // NLM_F_EXCL: an existing counter must never be reset by a re-add.
    nlmsghdr* nlh =
        header(reserve(buf, start), NFT_MSG_NEWOBJ, o->family, NLM_F_CREATE | NLM_F_EXCL, seq);
    nftnl_obj_nlmsg_build_payload(nlh, obj.get());
    return commit(buf, start);
  }
}

std::optional<RuleMsg> decode_rule(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nfgenmsg)))
    return std::nullopt;
  RuleMsg m;
  m.family = static_cast<NftFamily>(
      static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family);
  bool table = false, chain = false;
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(nfgenmsg))) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_RULE_TABLE:
      case NFTA_RULE_CHAIN:
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
        (mnl_attr_get_type(a) == NFTA_RULE_TABLE ? m.table : m.chain) = mnl_attr_get_str(a);
        (mnl_attr_get_type(a) == NFTA_RULE_TABLE ? table : chain) = true;
        break;
      case NFTA_RULE_HANDLE:
        if (mnl_attr_validate(a, MNL_TYPE_U64) < 0) return std::nullopt;
        m.rule.handle = be64toh(mnl_attr_get_u64(a));
        break;
      case NFTA_RULE_EXPRESSIONS:
        m.rule.body = RuleBody(static_cast<const char*>(mnl_attr_get_payload(a)),
                               mnl_attr_get_payload_len(a));
        break;
    }
  }
  if (!table || !chain) return std::nullopt;
  return m;
}

std::optional<NftChain> decode_chain(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWCHAIN) return std::nullopt;
  ChainPtr c(nftnl_chain_alloc());
  if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0) return std::nullopt;
  NftChain out;
  out.family = static_cast<NftFamily>(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY));
  out.table = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE);
  out.name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
  if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
    BaseChain b;
    b.type = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TYPE)
                 ? nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE)
                 : "";
    b.hook = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM);
    b.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
    b.policy = nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY);
    out.base = b;
  }
  return out;
}

std::optional<NftTable> decode_table(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWTABLE) return std::nullopt;
  TablePtr t(nftnl_table_alloc());
  if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0) return std::nullopt;
  return NftTable{static_cast<NftFamily>(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY)),
                  nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)};
}

std::optional<NftCounter> decode_counter(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWOBJ) return std::nullopt;
  ObjPtr o(nftnl_obj_alloc());
  if (nftnl_obj_nlmsg_parse(nlh, o.get()) < 0) return std::nullopt;
  if (nftnl_obj_get_u32(o.get(), NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER) return std::nullopt;
  return NftCounter{static_cast<NftFamily>(nftnl_obj_get_u32(o.get(), NFTNL_OBJ_FAMILY)),
                    nftnl_obj_get_str(o.get(), NFTNL_OBJ_TABLE),
                    nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME),
                    nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_PKTS),
                    nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_BYTES)};
}

std::optional<SetMsg> decode_set(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWSET) return std::nullopt;
  SetPtr s(nftnl_set_alloc());
  if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) return std::nullopt;
  if (!nftnl_set_is_set(s.get(), NFTNL_SET_TABLE) || !nftnl_set_is_set(s.get(), NFTNL_SET_NAME))
    return std::nullopt;
  SetMsg m;
  m.family = static_cast<NftFamily>(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY));
  m.table = nftnl_set_get_str(s.get(), NFTNL_SET_TABLE);
  m.name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
  bool counter = false;
  nftnl_set_expr_foreach(
      s.get(),
      [](nftnl_expr* e, void* data) {
        if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0)
          *static_cast<bool*>(data) = true;
        return 0;
      },
      &counter);
  m.kind = count_set_proto(m.name) ? NftMapKind::count : NftMapKind::dnat;
  const bool count = m.kind == NftMapKind::count;
  const uint32_t data_len = nftnl_set_is_set(s.get(), NFTNL_SET_DATA_LEN)
                                ? nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_LEN)
                                : 0;
  m.typed = counter &&
            nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS) == (count ? kCountFlags : kMapFlags) &&
            nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN) == kMapKeyLen &&
            data_len == (count ? 0 : kMapDataLen);
  return m;
}

bool decode_elems(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                  std::string_view set, std::vector<RawElem>& out) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWSETELEM) return false;
  SetPtr s(nftnl_set_alloc());
  if (nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0) return false;
  if (static_cast<NftFamily>(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY)) != family ||
      !nftnl_set_is_set(s.get(), NFTNL_SET_TABLE) || !nftnl_set_is_set(s.get(), NFTNL_SET_NAME) ||
      table != nftnl_set_get_str(s.get(), NFTNL_SET_TABLE) ||
      set != nftnl_set_get_str(s.get(), NFTNL_SET_NAME))
    return false;
  nftnl_set_elem_foreach(
      s.get(),
      [](nftnl_set_elem* e, void* data) {
        RawElem r;
        uint32_t len = 0;
        const void* key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (!key || len != 2) return 0;  // not a port: not netkeep's element
        uint16_t k;
        std::memcpy(&k, key, 2);
        r.key = ntohs(k);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
          r.end = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END;
        if (const void* d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len))
          r.data.assign(static_cast<const char*>(d), len);
        nftnl_set_elem_expr_foreach(
            e,
            [](nftnl_expr* x, void* rp) {
              auto* r = static_cast<RawElem*>(rp);
              if (std::strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "counter") == 0) {
                r->packets = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
                r->bytes = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
              }
              return 0;
            },
            &r);
        static_cast<std::vector<RawElem>*>(data)->push_back(std::move(r));
        return 0;
      },
      &out);
  return true;
}

std::vector<NftMapElem> intervals_of(std::vector<RawElem> raw) {
  // At one key, the end of the interval before comes first.
  std::sort(raw.begin(), raw.end(), [](const RawElem& a, const RawElem& b) {
    return a.key != b.key ? a.key < b.key : a.end > b.end;
  });
  std::vector<NftMapElem> out;
  bool open = false;
  for (const RawElem& r : raw) {
    if (r.end) {
      if (open && r.key > out.back().first) out.back().last = static_cast<uint16_t>(r.key - 1);
      open = false;
      continue;
    }
    if (open) out.back().last = static_cast<uint16_t>(r.key - 1);  // no end between: adjacent
    NftMapElem e;
    e.first = r.key;
    e.last = 0xffff;
    if (r.data.size() == kMapDataLen) {
      uint16_t lo, hi;
      std::memcpy(e.addr.data(), r.data.data(), 4);
      std::memcpy(&lo, r.data.data() + 4, 2);
      std::memcpy(&hi, r.data.data() + 12, 2);
      e.to_first = ntohs(lo);
      e.to_last = ntohs(hi);
    }
    e.packets = r.packets;
    e.bytes = r.bytes;
    out.push_back(e);
    open = true;
  }
  return out;
}

std::optional<uint32_t> decode_gen(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWGEN) return std::nullopt;
  nftnl_gen* g = nftnl_gen_alloc();
  std::optional<uint32_t> id;
  if (nftnl_gen_nlmsg_parse(nlh, g) >= 0) id = nftnl_gen_get_u32(g, NFTNL_GEN_ID);
  nftnl_gen_free(g);
  return id;
}

std::optional<Subject> decode_subject(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES ||
      nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nfgenmsg)))
    return std::nullopt;
  Subject s;
  s.msg = static_cast<uint8_t>(nlh->nlmsg_type & 0xff);
  s.family = static_cast<NftFamily>(
      static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family);
  // Attribute numbers of the table and the name, per message kind.
  uint16_t table_attr = 0, name_attr = 0;
  switch (s.msg) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
      name_attr = NFTA_TABLE_NAME;
      break;
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
      table_attr = NFTA_CHAIN_TABLE;
      name_attr = NFTA_CHAIN_NAME;
      break;
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
      table_attr = NFTA_RULE_TABLE;
      name_attr = NFTA_RULE_CHAIN;
      break;
    case NFT_MSG_NEWOBJ:
    case NFT_MSG_DELOBJ:
      table_attr = NFTA_OBJ_TABLE;
      name_attr = NFTA_OBJ_NAME;
      break;
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
      table_attr = NFTA_SET_TABLE;
      name_attr = NFTA_SET_NAME;
      break;
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
      table_attr = NFTA_SET_ELEM_LIST_TABLE;
      name_attr = NFTA_SET_ELEM_LIST_SET;
      break;
    default:
      return s;  // generations, flowtables...: never netkeep's
  }
  for (const nlattr* a : nl::Attrs::of(nlh, sizeof(nfgenmsg))) {
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) continue;
    if (mnl_attr_get_type(a) == table_attr && table_attr) s.table = mnl_attr_get_str(a);
    if (mnl_attr_get_type(a) == name_attr) s.name = mnl_attr_get_str(a);
  }
  if (s.msg == NFT_MSG_NEWTABLE || s.msg == NFT_MSG_DELTABLE) s.table = s.name;
  return s;
}

namespace {

nl::Message nft_request(uint8_t msg, NftFamily family) {
  nl::Message m(static_cast<uint16_t>(NFNL_SUBSYS_NFTABLES << 8 | msg), 0);
  auto* nfg = m.put_header<nfgenmsg>();
  nfg->nfgen_family = static_cast<uint8_t>(family);
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return m;
}

}  // namespace

nl::Message request_gen() {
  return nft_request(NFT_MSG_GETGEN, static_cast<NftFamily>(0));
}
nl::Message dump_tables() {
  return nft_request(NFT_MSG_GETTABLE, static_cast<NftFamily>(0));
}
nl::Message dump_chains() {
  return nft_request(NFT_MSG_GETCHAIN, static_cast<NftFamily>(0));
}
nl::Message dump_objects() {
  return nft_request(NFT_MSG_GETOBJ, static_cast<NftFamily>(0));
}

nl::Message dump_sets() {
  return nft_request(NFT_MSG_GETSET, static_cast<NftFamily>(0));
}

nl::Message dump_elems(NftFamily family, const std::string& table, const std::string& set) {
  nl::Message m = nft_request(NFT_MSG_GETSETELEM, family);
  SetPtr s = set_of(family, table, set);
  nftnl_set_elems_nlmsg_build_payload(m.hdr(), s.get());
  return m;
}

nl::Message dump_rules(NftFamily family, const std::string& table, const std::string& chain) {
  nl::Message m = nft_request(NFT_MSG_GETRULE, family);
  RulePtr r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
  nftnl_rule_nlmsg_build_payload(m.hdr(), r.get());
  return m;
}

}  // namespace netkeep::nft
