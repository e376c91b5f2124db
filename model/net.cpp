#include "model/net.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace netkeep {

std::string Mac::str() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Mac> Mac::parse(std::string_view s) {
  // Exactly six two-digit groups separated by ':' (Go's net.ParseMAC for
  // EUI-48 also takes '-', which router7 configs never use).
  if (s.size() != 17) return std::nullopt;
  Mac m;
  for (int i = 0; i < 6; i++) {
    int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (i < 5 && s[i * 3 + 2] != ':') return std::nullopt;
    m.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return m;
}

std::string IpAddr::str() const {
  if (is_v4()) {  // without inet_ntop's sprintf: plans and listings print thousands
    std::string out;
    for (int i = 0; i < 4; i++) {
      if (i) out += '.';
      out += std::to_string(bytes[i]);
    }
    return out;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

// Dotted-quad IPv4 as inet_pton(AF_INET) takes it: four decimal parts of
// 0-255 without leading zeros. By hand, because portforwardings.json has
// thousands of them and inet_pton was a tenth of the daemon's work there.
static bool parse_v4(std::string_view s, uint8_t* out) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      i++;
    }
    unsigned v = 0, digits = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4; i++, digits++)
      v = v * 10 + unsigned(s[i] - '0');
    if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0')) return false;
    out[part] = static_cast<uint8_t>(v);
  }
  return i == s.size();
}

std::optional<IpAddr> IpAddr::parse(std::string_view s) {
  IpAddr a;
  if (s.find(':') == std::string_view::npos) {
    a.family = Family::v4;
    if (parse_v4(s, a.bytes.data())) return a;
    return std::nullopt;
  }
  if (s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  a.family = Family::v6;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddr> IpAddr::from_bytes(const void* data, size_t len) {
  if (len != 4 && len != 16) return std::nullopt;
  IpAddr a;
  a.family = len == 4 ? Family::v4 : Family::v6;
  std::memcpy(a.bytes.data(), data, len);
  return a;
}

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr a;
  uint32_t be = htonl(host_order);
  std::memcpy(a.bytes.data(), &be, 4);
  return a;
}

std::string Prefix::str() const {
  return fmt::format("{}/{}", addr.str(), len);
}

std::optional<Prefix> Prefix::parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IpAddr::parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  auto lens = s.substr(slash + 1);
  unsigned len = 0;
  auto [end, ec] = std::from_chars(lens.data(), lens.data() + lens.size(), len);
  if (lens.empty() || ec != std::errc{} || end != lens.data() + lens.size()) return std::nullopt;
  if (len > static_cast<unsigned>(addr->bits())) return std::nullopt;
  return Prefix{*addr, static_cast<uint8_t>(len)};
}

Prefix Prefix::network() const {
  Prefix p = *this;
  for (int i = 0; i < addr.size(); i++) {
    int keep = std::clamp(static_cast<int>(len) - i * 8, 0, 8);
    p.addr.bytes[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  return p;
}

IpAddr Prefix::broadcast() const {
  IpAddr b = addr;
  for (int i = 0; i < addr.size(); i++) {
    int keep = std::clamp(static_cast<int>(len) - i * 8, 0, 8);
    b.bytes[i] |= static_cast<uint8_t>(~(0xff00 >> keep));
  }
  return b;
}

std::optional<uint8_t> mask_length(const IpAddr& mask) {
  int len = 0;
  bool zero_seen = false;
  for (int i = 0; i < mask.size(); i++) {
    for (int bit = 7; bit >= 0; bit--) {
      bool one = mask.bytes[i] >> bit & 1;
      if (one && zero_seen) return std::nullopt;
      if (one)
        len++;
      else
        zero_seen = true;
    }
  }
  return static_cast<uint8_t>(len);
}

}  // namespace netkeep
