// Network value types: MAC, IP address, prefix. Plain values, compared by value.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netkeep {

struct Mac {
  std::array<uint8_t, 6> bytes{};
  auto operator<=>(const Mac&) const = default;
  std::string str() const;  // lower-case, colon separated, as `ip link` prints
  static std::optional<Mac> parse(std::string_view s);
};

enum class Family : uint8_t { v4 = 4, v6 = 6 };

struct IpAddr {
  Family family = Family::v4;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4 bytes

  auto operator<=>(const IpAddr&) const = default;
  bool is_v4() const { return family == Family::v4; }
  int bits() const { return is_v4() ? 32 : 128; }
  int size() const { return is_v4() ? 4 : 16; }
  std::string str() const;
  static std::optional<IpAddr> parse(std::string_view s);
  static std::optional<IpAddr> from_bytes(const void* data, size_t len);
  static IpAddr v4(uint32_t host_order);
};

// An address with a prefix length. `addr` keeps its host bits: 10.10.0.1/24
// is an interface address, network() gives 10.10.0.0/24.
struct Prefix {
  IpAddr addr;
  uint8_t len = 0;

  auto operator<=>(const Prefix&) const = default;
  std::string str() const;
  static std::optional<Prefix> parse(std::string_view s);  // "a/len"
  Prefix network() const;
  IpAddr broadcast() const;  // v4 only: host bits all ones
  bool is_default() const { return len == 0; }
};

// Length of a contiguous netmask, or nullopt when the mask has holes.
std::optional<uint8_t> mask_length(const IpAddr& mask);

}  // namespace netkeep
