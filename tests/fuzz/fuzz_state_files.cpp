// libFuzzer target: the files netkeep reads back that it wrote itself or
// that a user hands it: the nftables view (ROOT/run/netkeep/nft-view),
// `show --json` output (the fake kernel's input, and a confirm journal's
// before.json), a saved plan (plan --out), and the confirm journal's
// touched.json and pending. The first byte picks one.
#include <cstdint>
#include <string>
#include <string_view>

#include "backends/journal.hpp"
#include "backends/nft_view.hpp"
#include "model/actual_json.hpp"
#include "reconciler/restore.hpp"
#include "reconciler/saved_plan.hpp"

using namespace netkeep;

namespace {

// A file refused must say why.
template <class R>
void refused_with_reason(const R& r) {
  if (!r && r.error().empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      // The identity the seeds were written with; any other is refused early.
      (void)parse_nft_view(text, "boot fuzz netns 1");
      break;
    case 1:
      refused_with_reason(actual_from_json(text));
      break;
    case 2:
      refused_with_reason(parse_saved_plan(text));
      break;
    case 3: {
      auto t = touched_from_json(text);
      refused_with_reason(t);
      // What is read back is written back the same.
      if (t) {
        auto back = touched_from_json(to_json(*t));
        if (!back || !(*back == *t)) __builtin_trap();
      }
      break;
    }
    default:
      refused_with_reason(pending_from_json(text));
  }
  return 0;
}
