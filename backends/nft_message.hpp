// Building nftables messages into a batch (nft_batch.hpp): what the rule, chain and
// object encoders (nft_codec.cpp) and the set encoders (nft_set_codec.cpp)
// share. Internal to backends/.
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "backends/netlink.hpp"
#include "backends/nft_batch.hpp"
#include "model/nft.hpp"

namespace netkeep::nft {

template <class T, void (*Free)(const T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, Deleter<nftnl_obj, nftnl_obj_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;

inline uint16_t family_u16(NftFamily f) {
  return static_cast<uint16_t>(f);
}

inline nlmsghdr* header(char* at, uint16_t type, NftFamily family, uint16_t flags, uint32_t seq) {
  return nftnl_nlmsg_build_hdr(at, type, family_u16(family), flags, seq);
}

// A set named by its family, table and name: what a set or element
// message carries before anything else.
inline SetPtr set_of(NftFamily family, const std::string& table, const std::string& name) {
  SetPtr s(nftnl_set_alloc());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, family_u16(family));
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
  return s;
}

// A message of the nftables subsystem of type `msg` (NFT_MSG_*), long
// enough for its nfgenmsg header: what every decoder checks first, so a
// message of another subsystem or a truncated one is never parsed.
inline bool is_nft_msg(const nlmsghdr* nlh, uint8_t msg) {
  return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES && (nlh->nlmsg_type & 0xff) == msg &&
         nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(nfgenmsg));
}

// A NEWSET message, parsed, when it names its table and set.
inline SetPtr set_msg(const nlmsghdr* nlh) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWSET)) return nullptr;
  SetPtr s(nftnl_set_alloc());
  if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) return nullptr;
  if (!nftnl_set_is_set(s.get(), NFTNL_SET_TABLE) || !nftnl_set_is_set(s.get(), NFTNL_SET_NAME))
    return nullptr;
  return s;
}

// Whether a set gives each element a counter.
inline bool set_counts(nftnl_set* s) {
  bool counter = false;
  nftnl_set_expr_foreach(
      s,
      [](nftnl_expr* e, void* data) {
        if (std::strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0)
          *static_cast<bool*>(data) = true;
        return 0;
      },
      &counter);
  return counter;
}

// The elements of a NEWSETELEM message, parsed, when it is of `table` and
// `set` in `family`; nullptr for any other message.
inline SetPtr elems_of(const nlmsghdr* nlh, NftFamily family, std::string_view table,
                       std::string_view set) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWSETELEM)) return nullptr;
  SetPtr s(nftnl_set_alloc());
  if (nftnl_set_elems_nlmsg_parse(nlh, s.get()) < 0) return nullptr;
  if (static_cast<NftFamily>(nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY)) != family ||
      !nftnl_set_is_set(s.get(), NFTNL_SET_TABLE) || !nftnl_set_is_set(s.get(), NFTNL_SET_NAME) ||
      table != nftnl_set_get_str(s.get(), NFTNL_SET_TABLE) ||
      set != nftnl_set_get_str(s.get(), NFTNL_SET_NAME))
    return nullptr;
  return s;
}

// An element's counter: its packets and bytes, when it has one.
inline void elem_counts(nftnl_set_elem* e, uint64_t& packets, uint64_t& bytes) {
  struct Counts {
    uint64_t &packets, &bytes;
  } c{packets, bytes};
  nftnl_set_elem_expr_foreach(
      e,
      [](nftnl_expr* x, void* cp) {
        auto* counts = static_cast<Counts*>(cp);
        if (std::strcmp(nftnl_expr_get_str(x, NFTNL_EXPR_NAME), "counter") == 0) {
          counts->packets = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
          counts->bytes = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
        }
        return 0;
      },
      &c);
}

// A request to the nftables subsystem (a dump or the generation).
inline nl::Message nft_request(uint8_t msg, NftFamily family) {
  nl::Message m(static_cast<uint16_t>(NFNL_SUBSYS_NFTABLES << 8 | msg), 0);
  auto* nfg = m.put_header<nfgenmsg>();
  nfg->nfgen_family = static_cast<uint8_t>(family);
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  return m;
}

}  // namespace netkeep::nft
