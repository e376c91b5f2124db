// Writing nftables expressions as nft 1.0 sends them for the same text,
// each with its attributes in the order the kernel dumps them, so a rule's
// bytes equal the kernel's dump of it (model/nft.hpp, RuleBody). The
// building blocks of the owned ruleset (nft_desired.cpp, nft_protect.cpp);
// each is labelled with what `nft --debug=netlink` prints for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/net.hpp"
#include "model/nft.hpp"

namespace netkeep::expr {

// Registers as nft numbers them: NFT_REG_1 (16 bytes), then 32-bit ones.
inline constexpr uint32_t kReg1 = 1, kReg2 = 2;  // NFT_REG_1, NFT_REG_2
inline constexpr uint32_t kIp4Saddr = 12, kIp4Daddr = 16;  // offsets in the IPv4 header
inline constexpr uint32_t kReg32(uint32_t n) {   // NFT_REG32_00 + n
  return 8 + n;
}

std::string host32(uint32_t v);  // cmp data for a host-order register value
std::string be16(uint16_t v);    // a port, in network order

// [ payload load LENb @ BASE header + OFFSET => reg DREG ]
void payload(ExprWriter& w, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg = kReg1);
// [ cmp OP reg 1 DATA ]
void cmp(ExprWriter& w, uint32_t op, std::string_view data);
// [ bitwise reg 1 = ( reg 1 & MASK ) ^ 0 ]
void bitwise(ExprWriter& w, std::string_view mask);
// [ meta load KEY => reg DREG ]
void meta(ExprWriter& w, uint32_t key, uint32_t dreg = kReg1);
// [ meta load IIFNAME/OIFNAME => reg 1 ] [ cmp OP reg 1 NAME ]: names are
// compared as IFNAMSIZ bytes, NUL-padded.
void ifname(ExprWriter& w, uint32_t key, const std::string& name, uint32_t op = 0 /* eq */);
// [ meta load l4proto => reg 1 ] [ cmp eq reg 1 PROTO ]
void l4proto(ExprWriter& w, uint8_t proto);
// [ ct load KEY => reg 1 ]
void ct(ExprWriter& w, uint32_t key);
// ip/ip6 saddr/daddr ==/!= PREFIX at header offset `offset`: a whole-byte
// prefix loads only its bytes; any other loads the address and masks it.
void addr_match(ExprWriter& w, uint32_t offset, uint32_t op, const Prefix& p);
// th dport PORT or FIRST-LAST (after the protocol is matched).
void dport(ExprWriter& w, uint16_t first, uint16_t last);
// [ immediate reg 0 CODE ]
void verdict_code(ExprWriter& w, int32_t code);
// [ objref type 1 name NAME ]: a named counter counts the packet.
void counter(ExprWriter& w, const std::string& name);

inline NftRule rule(ExprWriter& w) {
  return {w.take(), 0};
}

}  // namespace netkeep::expr
