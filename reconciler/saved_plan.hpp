// Saved plans (`plan --out FILE`, `apply --plan FILE`), terraform's
// contract: a saved plan is performed exactly, or not at all when anything
// it was computed from has changed since. What it was computed from is
// fingerprinted part by part — each config file's contents, and each kind
// of kernel object netkeep manages as the snapshot holds it (the owned
// nftables objects, not the ruleset generation: another program's commits
// to its own tables leave a saved plan standing) — so the refusal says
// what changed. `apply --plan` plans again from the same inputs and also
// requires the very same ops: the planner is pure, so equal inputs give an
// equal plan, and a difference (say, a WireGuard endpoint that resolves
// elsewhere now) is caught rather than assumed away.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "model/actual.hpp"
#include "model/result.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

// Part name ("config interfaces.json", "kernel addresses", ...) → a hash
// of its contents ("missing" for a config file that is not there).
using Fingerprint = std::map<std::string, std::string>;

Fingerprint fingerprint(const std::filesystem::path& config, const Actual& actual);
// One config file's part: a hash of its contents, "missing" or "unreadable".
std::string config_file_hash(const std::filesystem::path& file);

// What differs between two fingerprints, for `plan is stale: …`; empty
// when nothing does.
std::string fingerprint_diff(const Fingerprint& saved, const Fingerprint& now);

struct SavedPlan {
  Fingerprint fingerprint;
  std::string plan_json;  // to_json(plan), compared byte for byte
  std::string plan_text;  // to_text(plan), for the reader of the file
};

std::string serialize(const SavedPlan& p);
// The error names what is wrong (not a saved plan, another version, damaged).
Result<SavedPlan, std::string> parse_saved_plan(std::string_view text);

}  // namespace netkeep
