// Literal addresses for tests: parsed, and known to be valid.
#pragma once

#include "model/net.hpp"

namespace netkeep::test {

inline Mac mac(const char* s) {
  return *Mac::parse(s);
}
inline Prefix pre(const char* s) {
  return *Prefix::parse(s);
}
inline IpAddr ip(const char* s) {
  return *IpAddr::parse(s);
}

}  // namespace netkeep::test
