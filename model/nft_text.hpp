// nft syntax for a rule's expressions, for plan output and logs. It covers
// the shapes netkeep writes and common ones others write; anything else is
// shown as `[expr]`, so an unknown rule still prints recognisably.
#pragma once

#include <string>

#include "model/net.hpp"
#include "model/nft.hpp"

namespace netkeep {

std::string rule_text(const RuleBody& body);

}  // namespace netkeep
