// The Actual snapshot as JSON: what `netkeep show --json` prints and what
// golden tests load back as a recorded snapshot. One object a line, sorted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/actual.hpp"
#include "model/result.hpp"

namespace netkeep {

// With `counters`, each forwarding map element also carries its counter
// ("connections": packets through the NAT chain, which sees only a
// connection's first packet); goldens leave them out. `more`: members
// appended as they are (`"name": value`), which actual_from_json ignores.
std::string to_json(const Actual& a, bool counters = false, std::string_view more = {});
// The error says why the text is not a snapshot.
Result<Actual, std::string> actual_from_json(std::string_view text);

// An address's or route's JSON members, without braces: the snapshot and
// the plan's ops (plan --json) spell them alike.
std::string json_fields(const Address& a);
std::string json_fields(const Route& r);

}  // namespace netkeep
