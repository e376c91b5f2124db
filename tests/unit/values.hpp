// Literal addresses for tests: parsed, and known to be valid; and a
// test file's whole text.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace netkeep::test
