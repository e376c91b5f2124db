#include "backends/nft_stamp.hpp"

#include <fmt/format.h>
#include <linux/netfilter/nf_tables.h>
#include <sys/random.h>

#include <chrono>
#include <cstdint>
#include <cstring>

#include "backends/nft_message.hpp"
#include "reconciler/nft_desired.hpp"

namespace netkeep::nft {

namespace {

// nft's own encoding of a comment in a chain's user data: a TLV of type
// NFTNL_UDATA_CHAIN_COMMENT (0) holding the NUL-terminated text, so `nft
// list` shows it as the chain's comment.
std::string comment_udata(const std::string& text) {
  std::string u;
  u += '\0';
  u += static_cast<char>(text.size() + 1);
  u += text;
  u += '\0';
  return u;
}

void encode_stamp_chain(uint16_t type, const std::string* stamp, uint16_t flags, uint32_t seq,
                        Batch& buf) {
  ChainPtr c(nftnl_chain_alloc());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family_u16(NftFamily::ip));
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kCountTable);
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, kStampChain);
  if (stamp) {
    const std::string u = comment_udata(*stamp);
    nftnl_chain_set_data(c.get(), NFTNL_CHAIN_USERDATA, u.data(), static_cast<uint32_t>(u.size()));
  }
  nlmsghdr* nlh = header(buf.reserve(), type, NftFamily::ip, flags, seq);
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  buf.commit();
}

}  // namespace

std::string new_stamp() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) {
    // No entropy yet (early boot): the time still differs from any other
    // commit's, which is all a stamp needs.
    r = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return fmt::format("netkeep view {:016x}", r);
}

size_t encode_stamp(const std::string& stamp, bool exists, uint32_t seq, Batch& buf) {
  if (exists) {
    encode_stamp_chain(NFT_MSG_DELCHAIN, nullptr, 0, seq, buf);
  } else {
    nlmsghdr* nlh = header(buf.reserve(), NFT_MSG_NEWTABLE, NftFamily::ip, NLM_F_CREATE, seq);
    mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, kCountTable);
    buf.commit();
  }
  encode_stamp_chain(NFT_MSG_NEWCHAIN, &stamp, NLM_F_CREATE, seq, buf);
  return 2;
}

std::optional<std::string> decode_stamp(const nlmsghdr* nlh) {
  if (!is_nft_msg(nlh, NFT_MSG_NEWCHAIN)) return std::nullopt;
  ChainPtr c(nftnl_chain_alloc());
  if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0 ||
      !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TABLE) ||
      !nftnl_chain_is_set(c.get(), NFTNL_CHAIN_NAME) ||
      nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY) != family_u16(NftFamily::ip) ||
      std::strcmp(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE), kCountTable) != 0 ||
      std::strcmp(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME), kStampChain) != 0)
    return std::nullopt;
  uint32_t len = 0;
  const auto* u =
      static_cast<const char*>(nftnl_chain_get_data(c.get(), NFTNL_CHAIN_USERDATA, &len));
  // The comment TLV: type 0, its length, the text with its NUL.
  if (!u || len < 3 || u[0] != 0 || static_cast<uint8_t>(u[1]) + 2u != len || u[len - 1] != 0)
    return std::string();
  return std::string(u + 2, len - 3);
}

nl::Message request_stamp() {
  nl::Message m = nft_request(NFT_MSG_GETCHAIN, NftFamily::ip);
  mnl_attr_put_strz(m.hdr(), NFTA_CHAIN_TABLE, kCountTable);
  mnl_attr_put_strz(m.hdr(), NFTA_CHAIN_NAME, kStampChain);
  return m;
}

}  // namespace netkeep::nft
