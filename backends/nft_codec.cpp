#include "backends/nft_codec.hpp"

#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include <arpa/inet.h>
#include <endian.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "backends/nft_message.hpp"
#include "backends/nft_keyset_codec.hpp"
#include "backends/nft_set_codec.hpp"

namespace netkeep::nft {

namespace {

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

void encode_rule_add(const NftRuleAdd& o, uint32_t seq, Batch& buf) {
  // Without NLM_F_APPEND and with a position the kernel inserts before it.
  const uint16_t flags = NLM_F_CREATE | (o.place == RulePlace::append ? NLM_F_APPEND : 0);
  nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_NEWRULE, o.family, flags, seq);
  mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, o.table.c_str());
  mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, o.chain.c_str());
  if (o.place == RulePlace::before_handle)
    mnl_attr_put_u64(nlh, NFTA_RULE_POSITION, htobe64(o.ref));
  nlattr* exprs = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
  const RuleBody body = sendable(o.body);
  if (body.size() > kMaxMessage / 2) message_overflow("an nftables rule");
  auto* tail = static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh));
  std::memcpy(tail, body.data(), body.size());
  std::memset(tail + body.size(), 0, MNL_ALIGN(body.size()) - body.size());  // padding
  nlh->nlmsg_len += static_cast<uint32_t>(MNL_ALIGN(body.size()));
  mnl_attr_nest_end(nlh, exprs);
  mnl_attr_put_u32(nlh, NFTA_RULE_ID, htonl(o.id));
  buf.commit();
}

void encode_chain(uint16_t type, NftFamily family, const std::string& table,
                  const std::string& name, const std::optional<BaseChain>& base, uint16_t flags,
                  uint32_t seq, Batch& buf) {
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
  nlmsghdr* nlh = header(buf.reserve(), type, family, flags, seq);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  buf.commit();
}

}  // namespace

void encode_batch_begin(uint32_t seq, Batch& buf, std::optional<uint32_t> genid) {
  auto* nlh = nftnl_batch_begin(buf.reserve(), seq);
  if (genid) mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
  buf.commit();
}

void encode_batch_end(uint32_t seq, Batch& buf) {
  nftnl_batch_end(buf.reserve(), seq);
  buf.commit();
}

namespace {

// Tables, counters, chains and rules: one message each.
void encode_single(const Op& op, uint32_t seq, Batch& buf) {
  if (auto* o = std::get_if<NftRuleAdd>(&op)) return encode_rule_add(*o, seq, buf);
  if (auto* o = std::get_if<NftRuleDel>(&op)) {
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_u16(o->family));
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, o->table.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, o->chain.c_str());
    nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, o->handle);
    nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_DELRULE, o->family, 0, seq);
    nftnl_rule_nlmsg_build_payload(nlh, r.get());
    buf.commit();
    return;
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
    nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_NEWTABLE, o->table.family, NLM_F_CREATE, seq);
    nftnl_table_nlmsg_build_payload(nlh, t.get());
    buf.commit();
    return;
  }
  if (auto* o = std::get_if<NftCounterAdd>(&op)) {
    ObjPtr obj(nftnl_obj_alloc());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_FAMILY, family_u16(o->family));
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_TABLE, o->table.c_str());
    nftnl_obj_set_str(obj.get(), NFTNL_OBJ_NAME, o->name.c_str());
    nftnl_obj_set_u32(obj.get(), NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
    // NLM_F_EXCL: an existing counter must never be reset by a re-add.
    nlmsghdr* nlh =
        header(buf.reserve(), NFT_MSG_NEWOBJ, o->family, NLM_F_CREATE | NLM_F_EXCL, seq);
    nftnl_obj_nlmsg_build_payload(nlh, obj.get());
    buf.commit();
    return;
  }
}

}  // namespace

size_t encode_op(const Op& op, uint32_t seq, Batch& buf) {
  if (auto n = encode_set_op(op, seq, buf)) return n;  // maps, sets and their elements
  if (auto n = encode_keyset_op(op, seq, buf)) return n;  // protection's sets
  encode_single(op, seq, buf);
  return 1;
}

std::optional<RuleMsg> decode_rule(const nlmsghdr* nlh) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWRULE)) return std::nullopt;
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
  if (!is_nft_msg(nlh, NFT_MSG_NEWCHAIN)) return std::nullopt;
  ChainPtr c(nftnl_chain_alloc());
  if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0 ||
      !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TABLE) ||
      !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_NAME))
    return std::nullopt;
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
  if (!is_nft_msg(nlh, NFT_MSG_NEWTABLE)) return std::nullopt;
  TablePtr t(nftnl_table_alloc());
  if (nftnl_table_nlmsg_parse(nlh, t.get()) < 0 || !nftnl_table_is_set(t.get(), NFTNL_TABLE_NAME))
    return std::nullopt;
  return NftTable{static_cast<NftFamily>(nftnl_table_get_u32(t.get(), NFTNL_TABLE_FAMILY)),
                  nftnl_table_get_str(t.get(), NFTNL_TABLE_NAME)};
}

std::optional<NftCounter> decode_counter(const nlmsghdr* nlh) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWOBJ)) return std::nullopt;
  ObjPtr o(nftnl_obj_alloc());
  if (nftnl_obj_nlmsg_parse(nlh, o.get()) < 0 || !nftnl_obj_is_set(o.get(), NFTNL_OBJ_TABLE) ||
      !nftnl_obj_is_set(o.get(), NFTNL_OBJ_NAME))
    return std::nullopt;
  if (nftnl_obj_get_u32(o.get(), NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER) return std::nullopt;
  return NftCounter{static_cast<NftFamily>(nftnl_obj_get_u32(o.get(), NFTNL_OBJ_FAMILY)),
                    nftnl_obj_get_str(o.get(), NFTNL_OBJ_TABLE),
                    nftnl_obj_get_str(o.get(), NFTNL_OBJ_NAME),
                    nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_PKTS),
                    nftnl_obj_get_u64(o.get(), NFTNL_OBJ_CTR_BYTES)};
}

std::optional<uint32_t> decode_gen(const nlmsghdr* nlh) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWGEN)) return std::nullopt;
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
    const uint16_t type = mnl_attr_get_type(a);
    if ((type != table_attr || !table_attr) && type != name_attr) continue;
    if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return std::nullopt;
    (type == name_attr ? s.name : s.table) = mnl_attr_get_str(a);
  }
  if (s.msg == NFT_MSG_NEWTABLE || s.msg == NFT_MSG_DELTABLE) s.table = s.name;
  return s;
}

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

nl::Message dump_all_rules() {
  return nft_request(NFT_MSG_GETRULE, static_cast<NftFamily>(0));
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
