// Building nftables messages into a batch (nft_batch.hpp): what the rule, chain and
// object encoders (nft_codec.cpp) and the set encoders (nft_set_codec.cpp)
// share. Internal to backends/.
#pragma once

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <cstdint>
#include <memory>

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

// A message of the nftables subsystem of type `msg` (NFT_MSG_*), long
// enough for its nfgenmsg header: what every decoder checks first, so a
// message of another subsystem or a truncated one is never parsed.
inline bool is_nft_msg(const nlmsghdr* nlh, uint8_t msg) {
  return (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES && (nlh->nlmsg_type & 0xff) == msg &&
         nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(nfgenmsg));
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
