#include "reconciler/protect_words.hpp"

// glibc's netinet/in.h must come before the kernel headers that include linux/in.h.
#include <netinet/in.h>
#include <linux/netfilter.h>

#include <fmt/format.h>

#include <cstring>

#include "reconciler/nft_protect.hpp"

namespace netkeep {

namespace {

// nft's datatype numbers and its description of each set (what `nft -f`
// stores for the same declaration).
constexpr uint32_t kIpv4Addr = 7, kIpv6Addr = 8, kInetProto = 12, kInetService = 13, kCtState = 26;
constexpr uint32_t concat(uint32_t a, uint32_t b) {
  return a << 6 | b;
}
constexpr char kVmapUserdata[] =
    "\x00\x04\x01\x00\x00\x00\x01\x04\x00\x00\x00\x00\x06\x04\x00\x00\x00\x00";
constexpr char kConcatUserdata[] =
    "\x00\x04\x00\x00\x00\x00\x03\x08\x00\x04\x0d\x00\x00\x00\x01\x00";

std::string port_text(std::string_view key_port) {
  return std::to_string(uint8_t(key_port[0]) << 8 | uint8_t(key_port[1]));
}

std::string proto_text(char p) {
  return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : std::to_string(uint8_t(p));
}

// A protocol and a port as a concatenation holds them: each field in a
// 4-byte register, the port in network order.
void append_proto_port(NftKey& k, uint8_t proto, uint16_t port) {
  const char b[8] = {static_cast<char>(proto),       0, 0, 0, static_cast<char>(port >> 8),
                     static_cast<char>(port & 0xff), 0, 0};
  k.append(b, sizeof(b));
}

}  // namespace

NftKey pinhole_key(const IpAddr& addr, uint8_t proto, uint16_t port) {
  NftKey k(std::string_view(reinterpret_cast<const char*>(addr.bytes.data()), addr.size()));
  append_proto_port(k, proto, port);
  return k;
}

NftKey open_key(uint8_t proto, uint16_t port) {
  NftKey k;
  append_proto_port(k, proto, port);
  return k;
}

std::vector<std::string> protection_lines(const NftState& s) {
  std::vector<std::string> out;
  for (const auto& k : s.keysets) {
    if (k.name == kCtStateMap) continue;
    for (const auto& e : k.elems)
      out.push_back(fmt::format("{} packets {} bytes {}", keyset_elem_text(k.family, k.name, e),
                                e.packets, e.bytes) +
                    (k.name == kOpenSet ? fmt::format(" ({})", family_name(k.family)) : ""));
  }
  for (const auto& c : s.counters)
    if (protect_counter(c.family, c.table, c.name))
      out.push_back(fmt::format("protection {} {} packets {} bytes {}", family_name(c.family),
                                c.name, c.packets, c.bytes));
  return out;
}

std::optional<KeySetType> keyset_type(NftFamily family, std::string_view name) {
  if (family == NftFamily::inet) return std::nullopt;
  const std::string_view concat_ud(kConcatUserdata, sizeof kConcatUserdata - 1);
  if (name == kCtStateMap)
    return KeySetType{kCtState, 4, true, false,
                      std::string_view(kVmapUserdata, sizeof kVmapUserdata - 1)};
  if (name == kPinholeSet) {
    const bool six = family == NftFamily::ip6;
    return KeySetType{concat(concat(six ? kIpv6Addr : kIpv4Addr, kInetProto), kInetService),
                      six ? 24u : 12u, false, true, concat_ud};
  }
  if (name == kOpenSet)
    return KeySetType{concat(kInetProto, kInetService), 8, false, true, concat_ud};
  return std::nullopt;
}

std::optional<PinholeKey> pinhole_of(NftFamily family, const NftKeyElem& e) {
  const size_t n = family == NftFamily::ip6 ? 16 : 4;
  const std::string_view k = e.key.view();
  if (k.size() != n + 8) return std::nullopt;
  auto addr = IpAddr::from_bytes(k.data(), n);
  if (!addr) return std::nullopt;
  return PinholeKey{*addr, static_cast<uint8_t>(k[n]),
                    static_cast<uint16_t>(uint8_t(k[n + 4]) << 8 | uint8_t(k[n + 5]))};
}

namespace {

const char* ct_state_text(std::string_view key) {
  uint32_t bits;
  std::memcpy(&bits, key.data(), 4);
  return bits == kCtInvalid       ? "invalid"
         : bits == kCtEstablished ? "established"
         : bits == kCtRelated     ? "related"
                                  : "other";
}

const char* verdict_text(int32_t verdict) {
  return verdict == NF_ACCEPT ? "accept" : "drop";
}

}  // namespace

std::string keyset_decl_nft(NftFamily family, std::string_view set) {
  if (set == kCtStateMap) return "type ct_state : verdict;";
  if (set == kOpenSet) return "type inet_proto . inet_service; counter;";
  return fmt::format("type {} . inet_proto . inet_service; counter;",
                     family == NftFamily::ip6 ? "ipv6_addr" : "ipv4_addr");
}

std::string keyset_elem_nft(NftFamily family, std::string_view set, const NftKeyElem& e) {
  const std::string_view k = e.key.view();
  if (set == kCtStateMap && k.size() == 4)
    return fmt::format("{} : {}", ct_state_text(k), verdict_text(e.verdict));
  if (set == kOpenSet && k.size() == 8)
    return fmt::format("{} . {}", proto_text(k[0]), port_text(k.substr(4)));
  if (auto p = set == kPinholeSet ? pinhole_of(family, e) : std::nullopt)
    return fmt::format("{} . {} . {}", p->addr.str(), proto_text(static_cast<char>(p->proto)),
                       p->port);
  return {};
}

std::string keyset_elem_text(NftFamily family, std::string_view set, const NftKeyElem& e) {
  const std::string_view k = e.key.view();
  if (set == kCtStateMap && k.size() == 4)
    return fmt::format("ct state {}: {}", ct_state_text(k), verdict_text(e.verdict));
  if (set == kOpenSet && k.size() == 8)
    return fmt::format("open {} {}", proto_text(k[0]), port_text(k.substr(4)));
  if (auto p = set == kPinholeSet ? pinhole_of(family, e) : std::nullopt) {
    const std::string addr = p->addr.str();
    return fmt::format("pinhole {} {} -> {}", proto_text(static_cast<char>(p->proto)), p->port,
                       e.note.empty() ? addr : fmt::format("{} ({})", e.note, addr));
  }
  return fmt::format("{} element of {} bytes", set, k.size());
}

}  // namespace netkeep
