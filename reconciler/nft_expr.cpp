#include "reconciler/nft_expr.hpp"

#include <linux/netfilter/nf_tables.h>

#include <algorithm>

namespace netkeep::expr {

std::string host32(uint32_t v) {
  return std::string(reinterpret_cast<const char*>(&v), 4);
}

std::string be16(uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
  return std::string(b, 2);
}

void payload(ExprWriter& w, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
  w.begin("payload")
      .be32(NFTA_PAYLOAD_DREG, dreg)
      .be32(NFTA_PAYLOAD_BASE, base)
      .be32(NFTA_PAYLOAD_OFFSET, offset)
      .be32(NFTA_PAYLOAD_LEN, len)
      .end();
}

void cmp(ExprWriter& w, uint32_t op, std::string_view data) {
  w.begin("cmp").be32(NFTA_CMP_SREG, kReg1).be32(NFTA_CMP_OP, op).data(NFTA_CMP_DATA, data).end();
}

void bitwise(ExprWriter& w, std::string_view mask) {
  const std::string zeros(mask.size(), '\0');
  w.begin("bitwise")
      .be32(NFTA_BITWISE_SREG, kReg1)
      .be32(NFTA_BITWISE_DREG, kReg1)
      .be32(NFTA_BITWISE_LEN, static_cast<uint32_t>(mask.size()))
      .be32(NFTA_BITWISE_OP, 0)  // mask and xor
      .data(NFTA_BITWISE_MASK, mask)
      .data(NFTA_BITWISE_XOR, zeros)
      .end();
}

void meta(ExprWriter& w, uint32_t key, uint32_t dreg) {
  w.begin("meta").be32(NFTA_META_KEY, key).be32(NFTA_META_DREG, dreg).end();
}

void ifname(ExprWriter& w, uint32_t key, const std::string& name, uint32_t op) {
  std::string padded = name;
  padded.resize(16, '\0');
  meta(w, key);
  cmp(w, op, padded);
}

void l4proto(ExprWriter& w, uint8_t proto) {
  meta(w, NFT_META_L4PROTO);
  cmp(w, NFT_CMP_EQ, std::string(1, static_cast<char>(proto)));
}

void ct(ExprWriter& w, uint32_t key) {
  w.begin("ct").be32(NFTA_CT_DREG, kReg1).be32(NFTA_CT_KEY, key).end();
}

void addr_match(ExprWriter& w, uint32_t offset, uint32_t op, const Prefix& p) {
  const Prefix net = p.network();
  const auto bytes = [&](size_t n) {
    return std::string_view(reinterpret_cast<const char*>(net.addr.bytes.data()), n);
  };
  if (net.len % 8 == 0 && net.len > 0) {
    payload(w, NFT_PAYLOAD_NETWORK_HEADER, offset, net.len / 8);
    cmp(w, op, bytes(net.len / 8));
    return;
  }
  const int size = net.addr.size();
  payload(w, NFT_PAYLOAD_NETWORK_HEADER, offset, size);
  std::string mask(size, '\0');
  for (int i = 0; i < size; i++) {
    int keep = std::clamp(static_cast<int>(net.len) - i * 8, 0, 8);
    mask[i] = static_cast<char>(0xff00 >> keep);
  }
  bitwise(w, mask);
  cmp(w, op, bytes(size));
}

void dport(ExprWriter& w, uint16_t first, uint16_t last) {
  payload(w, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
  if (first == last) {
    cmp(w, NFT_CMP_EQ, be16(first));
    return;
  }
  cmp(w, NFT_CMP_GTE, be16(first));
  cmp(w, NFT_CMP_LTE, be16(last));
}

void verdict_code(ExprWriter& w, int32_t code) {
  w.begin("immediate")
      .be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT)
      .verdict(NFTA_IMMEDIATE_DATA, code)
      .end();
}

void counter(ExprWriter& w, const std::string& name) {
  w.begin("objref")
      .str(NFTA_OBJREF_IMM_NAME, name)
      .be32(NFTA_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER)
      .end();
}

}  // namespace netkeep::expr
