// Where the entries of portforwardings.json and of firewall.json's pinholes
// lie in their text, for the daemon's incremental re-reads (see
// PortForwardingsMemo and FirewallMemo). Only for
// text simdjson has already accepted: the scan tracks strings and nesting,
// not the rest of JSON's grammar.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netkeep::json {

using Span = std::pair<size_t, size_t>;  // [first byte, one past the last)

// How many bytes `a` and `b` share at their front; at their back, at most
// `limit` (the bytes not already shared at the front).
size_t common_prefix(std::string_view a, std::string_view b);
size_t common_suffix(std::string_view a, std::string_view b, size_t limit);

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
// The array of objects that the root object's member `key` holds
// (firewall.json's "pinholes"), other members beside it; nullopt if the
// root has no such member, has it twice, or it is not an array of objects.
std::optional<ArrayLayout> member_array_layout(std::string_view text, std::string_view key);

// Where a new text differs from an old one whose array layout is known:
// the old entries [first, last) were replaced by the new text's bytes
// [from, to). `fragment` is those bytes as a JSON array, with a stand-in
// "{}" for each unchanged neighbour (`stand_ins` of them, `leading` before),
// so that commas and spacing are judged as they would be in place.
// nullopt when the texts differ outside the array.
struct ArrayEdit {
  size_t first = 0, last = 0;
  size_t from = 0, to = 0;
  ptrdiff_t delta = 0;  // the new text's size minus the old one's
  std::string fragment;
  size_t leading = 0, stand_ins = 0;
};
std::optional<ArrayEdit> locate_edit(const ArrayLayout& l, std::string_view old,
                                     std::string_view text);
// `l`, the old text's layout, made the new one's: `spans` are the
// fragment's objects (stand-ins included), `added` of them new entries.
void apply_edit(ArrayLayout& l, const ArrayEdit& e, const std::vector<Span>& spans, size_t added);

}  // namespace netkeep::json
