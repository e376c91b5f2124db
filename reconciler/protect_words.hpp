// The words of LAN protection's sets (nft_protect.hpp): each set's type,
// the key of each element as the kernel holds it (built for it and read
// back), and the text people read of an element (plan, show, metrics).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/net.hpp"
#include "model/nft.hpp"

namespace netkeep {

// A set's type, fixed by its name: nft's key type number, the key's
// length, whether it maps to verdicts, and nft's description of it (kept
// by the kernel for `nft list`, never read by it).
struct KeySetType {
  uint32_t key_type = 0, key_len = 0;
  bool vmap = false;
  bool counter = false;  // every element has one
  std::string_view userdata;
};
std::optional<KeySetType> keyset_type(NftFamily family, std::string_view name);

// An element in an operator's words: "pinhole tcp 443 -> 2001:db8::23",
// "open udp 51820", "ct state established: accept".
std::string keyset_elem_text(NftFamily family, std::string_view set, const NftKeyElem& e);

// The same in nft's syntax, for an `nft -f` script (plan --nft): a set's
// declaration ("type ipv6_addr . inet_proto . inet_service; counter;")
// and an element ("2001:db8::23 . tcp . 443", "invalid : drop").
std::string keyset_decl_nft(NftFamily family, std::string_view set);
std::string keyset_elem_nft(NftFamily family, std::string_view set, const NftKeyElem& e);

// What `show` says of protection: each pinhole and open port with the
// packets its counter saw, and each drop and reset counter.
std::vector<std::string> protection_lines(const NftState& s);

// A pinhole element's key read back: the host, protocol and port.
struct PinholeKey {
  IpAddr addr;
  uint8_t proto = 0;
  uint16_t port = 0;
};
std::optional<PinholeKey> pinhole_of(NftFamily family, const NftKeyElem& e);

// The key of a pinhole element and of an open port's.
NftKey pinhole_key(const IpAddr& addr, uint8_t proto, uint16_t port);
NftKey open_key(uint8_t proto, uint16_t port);

}  // namespace netkeep
