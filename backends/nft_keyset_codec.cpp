#include "backends/nft_keyset_codec.hpp"

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_tables.h>

#include <cstring>

#include "backends/nft_message.hpp"
#include "reconciler/nft_protect.hpp"

namespace netkeep::nft {

namespace {

void put_elem(nftnl_set* s, const NftKeyElem& e, bool add, bool vmap) {
  nftnl_set_elem* el = nftnl_set_elem_alloc();
  nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, e.key.data(), e.key.size());
  if (add && vmap)
    nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(e.verdict));
  nftnl_set_elem_add(s, el);
}

void encode_set_add(const NftKeySetAdd& o, uint32_t seq, Batch& buf) {
  const auto type = keyset_type(o.family, o.name);
  SetPtr s = set_of(o.family, o.table, o.name);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, type->key_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, type->key_len);
  uint32_t flags = 0;
  if (type->vmap) {
    flags |= NFT_SET_MAP;
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);  // no length: the kernel's
  }
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
  nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, type->userdata.data(),
                     static_cast<uint32_t>(type->userdata.size()));
  if (type->counter) nftnl_set_add_expr(s.get(), nftnl_expr_alloc("counter"));
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, seq);  // required, unique within the batch
  nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_NEWSET, o.family, NLM_F_CREATE, seq);
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  buf.commit();
}

void encode_elem(uint16_t type, NftFamily family, const std::string& table, const std::string& set,
                 const NftKeyElem& e, uint32_t seq, Batch& buf) {
  const auto t = keyset_type(family, set);
  SetPtr s = set_of(family, table, set);
  const bool add = type == NFT_MSG_NEWSETELEM;
  put_elem(s.get(), e, add, t && t->vmap);
  // NLM_F_EXCL: an element already there is an error, never overwritten.
  nlmsghdr* nlh = header(buf.reserve(), type, family, add ? NLM_F_CREATE | NLM_F_EXCL : 0, seq);
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  buf.commit();
}

}  // namespace

size_t encode_keyset_op(const Op& op, uint32_t seq, Batch& buf) {
  if (auto* o = std::get_if<NftKeySetAdd>(&op)) {
    encode_set_add(*o, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftKeySetDel>(&op)) {
    SetPtr s = set_of(o->family, o->table, o->name);
    nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_DELSET, o->family, 0, seq);
    nftnl_set_nlmsg_build_payload(nlh, s.get());
    buf.commit();
    return 1;
  }
  if (auto* o = std::get_if<NftKeyElemAdd>(&op)) {
    encode_elem(NFT_MSG_NEWSETELEM, o->family, o->table, o->set, o->elem, seq, buf);
    return 1;
  }
  if (auto* o = std::get_if<NftKeyElemDel>(&op)) {
    encode_elem(NFT_MSG_DELSETELEM, o->family, o->table, o->set, o->elem, seq, buf);
    return 1;
  }
  return 0;
}

std::optional<NftKeySet> decode_keyset(const nlmsghdr* nlh) {
  SetPtr s = set_msg(nlh);
  if (!s) return std::nullopt;
  NftKeySet k;
  k.family = static_cast<NftFamily>(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY));
  k.table = nftnl_set_get_str(s.get(), NFTNL_SET_TABLE);
  k.name = nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
  if (!protect_keyset(k.family, k.table, k.name)) return std::nullopt;
  const auto type = keyset_type(k.family, k.name);
  const bool counter = set_counts(s.get());
  const uint32_t flags = nftnl_set_get_u32(s.get(), NFTNL_SET_FLAGS);
  const bool map = flags & NFT_SET_MAP;
  const uint32_t data_type = nftnl_set_is_set(s.get(), NFTNL_SET_DATA_TYPE)
                                 ? nftnl_set_get_u32(s.get(), NFTNL_SET_DATA_TYPE)
                                 : 0;
  k.typed = (flags & ~NFT_SET_MAP) == 0 && map == type->vmap &&
            (!map || data_type == NFT_DATA_VERDICT) && counter == type->counter &&
            nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_LEN) == type->key_len &&
            nftnl_set_get_u32(s.get(), NFTNL_SET_KEY_TYPE) == type->key_type;
  return k;
}

bool decode_key_elems(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                      std::string_view set, std::vector<NftKeyElem>& out) {
  SetPtr s = elems_of(nlh, family, table, set);
  if (!s) return false;
  nftnl_set_elem_foreach(
      s.get(),
      [](nftnl_set_elem* e, void* data) {
        NftKeyElem k;
        uint32_t len = 0;
        const void* key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
        if (!key) return 0;
        k.key.assign(key, len);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
          k.verdict = static_cast<int32_t>(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT));
        elem_counts(e, k.packets, k.bytes);
        static_cast<std::vector<NftKeyElem>*>(data)->push_back(std::move(k));
        return 0;
      },
      &out);
  return true;
}

}  // namespace netkeep::nft
