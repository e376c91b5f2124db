#include "model/json_layout.hpp"

#include <algorithm>
#include <cstring>

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

// From the value at `i` to one past its end: a string, an object or array,
// or a literal (number, true, false, null) up to what ends it; npos.
size_t any_value_end(std::string_view t, size_t i) {
  if (i >= t.size()) return npos;
  if (t[i] == '{' || t[i] == '[') return value_end(t, i);
  if (t[i] == '"') {
    for (size_t k = i + 1; k < t.size(); k++) {
      if (t[k] == '\\')
        k++;
      else if (t[k] == '"')
        return k + 1;
    }
    return npos;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' &&
         t[i] != '\t' && t[i] != '\r')
    i++;
  return i;
}

}  // namespace

size_t common_prefix(std::string_view a, std::string_view b) {
  constexpr size_t kBlock = 256;  // memcmp a block at a time, then byte by byte
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i + kBlock <= n && std::memcmp(a.data() + i, b.data() + i, kBlock) == 0) i += kBlock;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

size_t common_suffix(std::string_view a, std::string_view b, size_t limit) {
  constexpr size_t kBlock = 256;
  const char* ea = a.data() + a.size();
  const char* eb = b.data() + b.size();
  size_t i = 0;
  while (i + kBlock <= limit && std::memcmp(ea - i - kBlock, eb - i - kBlock, kBlock) == 0)
    i += kBlock;
  while (i < limit && ea[-1 - ptrdiff_t(i)] == eb[-1 - ptrdiff_t(i)]) i++;
  return i;
}

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

std::optional<ArrayLayout> member_array_layout(std::string_view t, std::string_view key) {
  size_t i = skip_space(t, 0);
  if (i == t.size() || t[i] != '{') return std::nullopt;
  i = skip_space(t, i + 1);
  std::optional<ArrayLayout> found;
  while (i < t.size() && t[i] != '}') {
    if (t[i] != '"') return std::nullopt;
    const size_t name_end = any_value_end(t, i);
    if (name_end == npos) return std::nullopt;
    // The name as written, quotes off: an escaped name is not `key`.
    const std::string_view name = t.substr(i + 1, name_end - i - 2);
    i = skip_space(t, name_end);
    if (i == t.size() || t[i] != ':') return std::nullopt;
    i = skip_space(t, i + 1);
    const size_t end = any_value_end(t, i);
    if (end == npos || end == i) return std::nullopt;
    if (name == key) {
      if (found || t[i] != '[') return std::nullopt;
      auto entries = list_objects(t, i + 1, end - 1);
      if (!entries) return std::nullopt;
      found = ArrayLayout{i, end - 1, std::move(*entries)};
    }
    i = skip_space(t, end);
    if (i < t.size() && t[i] == ',') i = skip_space(t, i + 1);
  }
  if (i == t.size() || skip_space(t, i + 1) != t.size()) return std::nullopt;
  return found;
}

std::optional<ArrayEdit> locate_edit(const ArrayLayout& l, std::string_view old,
                                     std::string_view t) {
  const std::vector<Span>& e = l.entries;
  const size_t p = common_prefix(old, t);
  const size_t s = common_suffix(old, t, std::min(old.size(), t.size()) - p);
  if (p <= l.open || old.size() - s > l.close) return std::nullopt;  // outside the array
  // Entries [0, first) end before the difference, entries [last, n) start after it.
  ArrayEdit out;
  out.first = size_t(
      std::partition_point(e.begin(), e.end(), [&](const Span& x) { return x.second <= p; }) -
      e.begin());
  out.last = size_t(std::partition_point(e.begin(), e.end(),
                                         [&](const Span& x) { return x.first < old.size() - s; }) -
                    e.begin());
  out.delta = ptrdiff_t(t.size()) - ptrdiff_t(old.size());
  out.from = out.first > 0 ? e[out.first - 1].second : l.open + 1;
  out.to = size_t(ptrdiff_t(out.last < e.size() ? e[out.last].first : l.close) + out.delta);
  if (out.to < out.from) return std::nullopt;
  const std::string_view lead = out.first > 0 ? "{}" : "", trail = out.last < e.size() ? "{}" : "";
  out.leading = lead.empty() ? 0 : 1;
  out.stand_ins = out.leading + (trail.empty() ? 0 : 1);
  out.fragment.reserve(out.to - out.from + 6);
  out.fragment.append("[").append(lead).append(t.substr(out.from, out.to - out.from));
  out.fragment.append(trail).append("]");
  return out;
}

void apply_edit(ArrayLayout& l, const ArrayEdit& e, const std::vector<Span>& spans, size_t added) {
  std::vector<Span>& now = l.entries;
  const size_t i = e.first;
  const size_t shift = e.from - 1 - 2 * e.leading;  // from the fragment's offsets to the text's
  now.erase(now.begin() + ptrdiff_t(i), now.begin() + ptrdiff_t(e.last));
  now.insert(now.begin() + ptrdiff_t(i), spans.begin() + ptrdiff_t(e.leading),
             spans.begin() + ptrdiff_t(e.leading + added));
  for (size_t x = i; x < i + added; x++) now[x] = {now[x].first + shift, now[x].second + shift};
  if (e.delta != 0)
    for (size_t y = i + added; y < now.size(); y++)
      now[y] = {size_t(ptrdiff_t(now[y].first) + e.delta),
                size_t(ptrdiff_t(now[y].second) + e.delta)};
  l.close = size_t(ptrdiff_t(l.close) + e.delta);
}

}  // namespace netkeep::json
