// Golden tests: testdata/<case>/{config/, actual.json, plan.golden}.
// The planner's output for the recorded snapshot must equal plan.golden;
// then the plan is applied to a fake kernel and planning again must find
// nothing to do. UPDATE_GOLDEN=1 rewrites the goldens.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/actual_json.hpp"
#include "model/config_parse.hpp"
#include "reconciler/executor.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "values.hpp"

namespace fs = std::filesystem;
using namespace netkeep;
using netkeep::test::slurp;

namespace {

std::vector<fs::path> cases() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(NETKEEP_TESTDATA))
    if (fs::exists(e.path() / "actual.json")) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string render(const Diagnostics& diags, const Plan& p) {
  std::string out;
  for (const auto& d : diags) out += "# " + d.str() + "\n";
  return out + to_text(p);
}

}  // namespace

TEST_CASE("golden: there are at least 10 cases") {
  CHECK(cases().size() >= 10);
}

TEST_CASE("golden: plans equal plan.golden and converge on a fake kernel") {
  const bool update = std::getenv("UPDATE_GOLDEN") != nullptr;
  for (const auto& dir : cases()) {
    const std::string name = dir.filename().string();
    INFO("case ", name);
    // git keeps no file modes but the executable bit: give wireguard.json
    // the mode it would have on a router, so the goldens hold no mode warning.
    if (fs::exists(dir / "config/wireguard.json"))
      fs::permissions(dir / "config/wireguard.json",
                      fs::perms::owner_read | fs::perms::owner_write);
    Diagnostics diags;
    Desired desired = load_config(dir / "config", diags);
    auto actual = actual_from_json(slurp(dir / "actual.json"));
    REQUIRE_MESSAGE(actual.has_value(), "actual.json: ", (actual ? "" : actual.error()));

    Plan p = plan(desired, *actual);
    std::string got = render(diags, p);
    if (update) {
      std::ofstream(dir / "plan.golden") << got;
      std::ofstream(dir / "actual.json") << to_json(*actual);  // canonical form
    } else {
      REQUIRE_MESSAGE(fs::exists(dir / "plan.golden"), "run with UPDATE_GOLDEN=1 to create it");
      CHECK(got == slurp(dir / "plan.golden"));
    }

    // The recorded snapshot is exactly what `show --json` would print.
    CHECK(to_json(*actual) == slurp(dir / "actual.json"));

    // The JSON form of the plan is valid JSON with one object per op.
    simdjson::dom::parser parser;
    simdjson::dom::array ops;
    REQUIRE(!parser.parse(simdjson::padded_string(to_json(p))).get_array().get(ops));
    CHECK(ops.size() == p.ops.size());

    // No private key, in any encoding, in the plan (text or JSON) or the diagnostics.
    if (desired.wireguard.ok())
      for (const auto& w : desired.wireguard.value.interfaces) {
        std::string b64 = slurp(dir / "config/wireguard.json");
        auto at = b64.find("\"private_key\": \"");
        REQUIRE(at != std::string::npos);
        std::string key = b64.substr(at + 16, 44);
        CHECK(got.find(key) == std::string::npos);
        CHECK(to_json(p).find(key) == std::string::npos);
        CHECK(to_json(p).find(w.private_key.bytes) == std::string::npos);
      }

    FakeKernel kernel(*actual);
    ExecResult r = execute(p, kernel);
    CHECK(r.ok());
    // One request per op, plus the batch begin and end around the nftables ops.
    bool nft = std::any_of(p.ops.begin(), p.ops.end(), [](const Op& op) { return is_nft(op); });
    CHECK(r.write_requests == p.ops.size() + (nft ? 2 : 0));
    Plan again = plan(desired, kernel.state());
    CHECK_MESSAGE(again.empty(), "second plan of ", name, ":\n", to_text(again));
  }
}
