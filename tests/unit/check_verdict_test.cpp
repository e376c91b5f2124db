// How a confirm window judges its health checks (daemon/checks.hpp), for
// `apply --confirm` and `run --confirm` alike.
#include <doctest/doctest.h>

#include "daemon/checks.hpp"

using namespace netkeep;

namespace {

std::vector<CheckResult> round_of(std::initializer_list<bool> oks) {
  std::vector<CheckResult> r;
  for (bool ok : oks) r.push_back({ok, ok ? "reply" : "timeout"});
  return r;
}

}  // namespace

TEST_CASE("every check passing three rounds in a row confirms; a failure starts the count again") {
  CheckVerdict v(2);
  CHECK(v.round(round_of({true, false})) == std::vector<size_t>{0, 1});  // first round: all said
  CHECK(v.round(round_of({true, true})) == std::vector<size_t>{1});      // only what changed
  CHECK(v.round(round_of({true, true})).empty());
  CHECK_FALSE(v.confirmed());
  CHECK(v.round(round_of({false, true})) == std::vector<size_t>{0});
  for (int i = 0; i < 2; i++) v.round(round_of({true, true}));
  CHECK_FALSE(v.confirmed());  // two in a row since the failure
  v.round(round_of({true, true}));
  CHECK(v.confirmed());
}

TEST_CASE("a check that never passed is named, with what it saw") {
  CheckVerdict v(3);
  CHECK(v.never_passed() == 0u);
  v.round(round_of({true, false, true}));
  v.round(round_of({false, false, true}));  // the first passed once: that is enough
  REQUIRE(v.never_passed() == 1u);
  CHECK(v.saw(1) == "timeout");
  v.round(round_of({false, true, false}));
  CHECK_FALSE(v.never_passed());
}
