// Where the entries of portforwardings.json lie in its text, for the
// daemon's incremental re-read (see PortForwardingsMemo). Only for
// text simdjson has already accepted: the scan tracks strings and nesting,
// not the rest of JSON's grammar.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace netkeep::json {

using Span = std::pair<size_t, size_t>;  // [first byte, one past the last)

// The objects of a comma-separated list in text[from, to), each from its
// '{' to one past its '}'; nullopt if anything else is in the list.
std::optional<std::vector<Span>> list_objects(std::string_view text, size_t from, size_t to);

// The plain shape {"forwardings": [{...}, ...]} with nothing else in the
// root object (whitespace aside): the array's brackets and its objects.
struct ArrayLayout {
  size_t open = 0, close = 0;  // the offsets of '[' and ']'
  std::vector<Span> entries;
};
std::optional<ArrayLayout> forwardings_layout(std::string_view text);

}  // namespace netkeep::json
