// libFuzzer target: the files netkeep reads back that it wrote itself or
// that a user hands it: the nftables view (ROOT/run/netkeep/nft-view) and
// `show --json` output (the fake kernel's input). The first byte picks one.
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/nft_view.hpp"
#include "model/actual_json.hpp"

using namespace netkeep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    // The identity the seeds were written with; any other is refused early.
    (void)parse_nft_view(text, "boot fuzz netns 1");
  } else {
    auto a = actual_from_json(text);
    if (!a && a.error().empty()) __builtin_trap();  // refused without saying why
  }
  return 0;
}
