// A Plan as text (one op a line, `ip`/`nft`-like words) and as JSON.
#pragma once

#include <string>

#include "reconciler/op.hpp"

namespace netkeep {

std::string to_text(const Op& op);
std::string to_text(const Plan& p);  // one line per op, each ending in '\n'
std::string to_json(const Op& op);   // one JSON object with a "kind"
const char* op_kind(const Op& op);   // that kind: "addr_add", "nft_rule_add", ...
std::string to_json(const Plan& p);  // a JSON array, one op a line

std::string route_text(const Route& r);  // "default via 203.0.113.1 dev uplink0 proto dhcp src …"
std::string addr_text(const Address& a);  // "10.10.0.1/24 brd 10.10.0.255 dev lan0"

}  // namespace netkeep
