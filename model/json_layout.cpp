#include "model/json_layout.hpp"

namespace netkeep::json {

namespace {

constexpr size_t npos = std::string_view::npos;

size_t skip_space(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) i++;
  return i;
}

// From the '{' or '[' at `i` to one past its matching bracket, or npos.
size_t value_end(std::string_view t, size_t i) {
  size_t depth = 0;
  bool in_string = false;
  for (; i < t.size(); i++) {
    const char c = t[i];
    if (in_string) {
      if (c == '\\')
        i++;  // the escaped character, whatever it is
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return npos;
}

}  // namespace

std::optional<std::vector<Span>> list_objects(std::string_view t, size_t from, size_t to) {
  std::vector<Span> out;
  t = t.substr(0, to);
  size_t i = skip_space(t, from);
  while (i < t.size()) {
    if (t[i] != '{') return std::nullopt;
    const size_t end = value_end(t, i);
    if (end == npos) return std::nullopt;
    out.push_back({i, end});
    i = skip_space(t, end);
    if (i == t.size()) break;
    if (t[i] != ',') return std::nullopt;
    i = skip_space(t, i + 1);
    if (i == t.size()) return std::nullopt;  // a trailing comma
  }
  return out;
}

std::optional<ArrayLayout> forwardings_layout(std::string_view t) {
  constexpr std::string_view key = "\"forwardings\"";
  size_t i = skip_space(t, 0);
  if (i == t.size() || t[i] != '{') return std::nullopt;
  i = skip_space(t, i + 1);
  if (t.substr(i, key.size()) != key) return std::nullopt;
  i = skip_space(t, i + key.size());
  if (i == t.size() || t[i] != ':') return std::nullopt;
  i = skip_space(t, i + 1);
  if (i == t.size() || t[i] != '[') return std::nullopt;
  ArrayLayout l;
  l.open = i;
  const size_t end = value_end(t, i);
  if (end == npos) return std::nullopt;
  l.close = end - 1;
  auto entries = list_objects(t, l.open + 1, l.close);
  if (!entries) return std::nullopt;
  l.entries = std::move(*entries);
  i = skip_space(t, end);
  if (i == t.size() || t[i] != '}' || skip_space(t, i + 1) != t.size()) return std::nullopt;
  return l;
}

}  // namespace netkeep::json
