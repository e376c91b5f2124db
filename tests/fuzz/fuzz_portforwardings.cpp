// libFuzzer target: portforwardings.json, parsed in full and through the
// daemon's memo (the incremental re-parse), which must agree exactly. The
// input is two files separated by a NUL byte: the first primes the memo,
// the second is the edit parsed against it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/config_parse.hpp"

using namespace netkeep;

namespace {

std::string diag_text(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d) s += x.str() + "\n";
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = in.find('\0');
  const std::string_view first = in.substr(0, cut);
  const std::string_view second = cut == std::string_view::npos ? first : in.substr(cut + 1);
  PortForwardingsMemo memo;
  for (std::string_view text : {first, second}) {
    Diagnostics with, without;
    json::Sink a{kPortForwardingsFile, &with}, b{kPortForwardingsFile, &without};
    auto got = parse_portforwardings(text, a, &memo);
    auto want = parse_portforwardings(text, b);
    if (got != want || diag_text(with) != diag_text(without)) std::abort();
    if (!want && !has_errors(without)) std::abort();
    for (const auto& d : without)
      if (d.message.size() > 400) std::abort();
  }
  return 0;
}
