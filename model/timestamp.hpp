// RFC 3339 timestamps as the lease files carry them (Go's time.Time in
// JSON), to and from seconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netkeep {

// What a lease's valid_until says.
struct Timestamp {
  enum class Kind { time, zero, invalid } kind = Kind::zero;
  int64_t unix_seconds = 0;  // when kind == time
  bool operator==(const Timestamp&) const = default;
};

// "2026-05-18T23:46:04+02:00", with optional fractional seconds and "Z"
// for UTC. Go's zero time ("0001-01-01T00:00:00Z", router7's "no time")
// is `zero`; anything that is not RFC 3339 is `invalid`.
Timestamp parse_rfc3339(std::string_view s);

// UTC, whole seconds: "2026-05-18T21:46:04Z". Go's time.Time reads it back.
std::string format_rfc3339(int64_t unix_seconds);
inline constexpr const char* kGoZeroTime = "0001-01-01T00:00:00Z";

}  // namespace netkeep
