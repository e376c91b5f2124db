// portforwardings.json's incremental re-parse (PortForwardingsMemo): the
// entries a new text shares with the memo's are taken over, and only the
// edited part is parsed.
#include <algorithm>
#include <cstring>
#include <iterator>

#include "model/portforwardings_memo.hpp"

namespace netkeep::pf_parse {

namespace {

using json::element;

bool run_before(const PortRun& a, const PortRun& b) {
  return a.proto != b.proto ? a.proto < b.proto : a.ports.first < b.ports.first;
}

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

}  // namespace

// The rules [front, front + added) of `rules` replaced the memo's rules
// [front, back). When the memo's rules shared no port and the new ones
// share none with the others, every rule is one run of its own ports: the
// memo's runs without the replaced rules', with the new rules' merged in,
// later rules' indices shifted. nullopt when they would overlap. The
// memo's runs are taken (edited in place, not copied): the caller stores
// the result back or marks the memo invalid.
std::optional<std::vector<PortRun>> runs_after_splice(PortForwardingsMemo& m, size_t front,
                                                      size_t back, size_t added,
                                                      const std::vector<Forwarding>& rules) {
  if (!m.disjoint) return std::nullopt;
  std::vector<PortRun> kept = std::move(m.runs);
  m.valid = false;  // until the caller stores runs again
  std::erase_if(kept,
                [&](const PortRun& r) { return r.forwarding >= front && r.forwarding < back; });
  if (back != front + added)
    for (PortRun& r : kept)
      if (r.forwarding >= back) r.forwarding = r.forwarding - back + front + added;
  std::vector<PortRun> fresh;
  for (size_t i = front; i < front + added; i++)
    fresh.push_back({rules[i].proto, rules[i].port, i});
  std::sort(fresh.begin(), fresh.end(), run_before);
  for (size_t k = 0; k < fresh.size(); k++) {
    const PortRun& r = fresh[k];
    if (k > 0 && fresh[k - 1].proto == r.proto && fresh[k - 1].ports.last >= r.ports.first)
      return std::nullopt;
    // The kept run starting last at or before this one's last port.
    const PortRun probe{r.proto, {r.ports.last, r.ports.last}, 0};
    auto at = std::upper_bound(kept.begin(), kept.end(), probe, run_before);
    if (at != kept.begin() && std::prev(at)->proto == r.proto &&
        std::prev(at)->ports.last >= r.ports.first)
      return std::nullopt;
  }
  // A few new runs (the usual edit) are inserted in place; many, merged.
  if (fresh.size() <= 8) {
    for (const PortRun& r : fresh)
      kept.insert(std::upper_bound(kept.begin(), kept.end(), r, run_before), r);
    return kept;
  }
  std::vector<PortRun> out;
  out.reserve(kept.size() + fresh.size());
  std::merge(kept.begin(), kept.end(), fresh.begin(), fresh.end(), std::back_inserter(out),
             run_before);
  return out;
}

bool splice(PortForwardingsMemo& m, std::string_view t, Rules& out, json::ArrayLayout& layout,
            Spliced& where) {
  const std::string_view old = m.text;
  const std::vector<json::Span>& e = m.layout.entries;
  const size_t p = common_prefix(old, t);
  const size_t s = common_suffix(old, t, std::min(old.size(), t.size()) - p);
  if (p <= m.layout.open || old.size() - s > m.layout.close) return false;  // outside the array
  // Entries [0, i) end before the difference, entries [j, n) start after it.
  auto before =
      std::partition_point(e.begin(), e.end(), [&](const json::Span& x) { return x.second <= p; });
  auto after = std::partition_point(e.begin(), e.end(),
                                    [&](const json::Span& x) { return x.first < old.size() - s; });
  const size_t i = size_t(before - e.begin()), j = size_t(after - e.begin());
  const ptrdiff_t delta = ptrdiff_t(t.size()) - ptrdiff_t(old.size());
  const size_t from = i > 0 ? e[i - 1].second : m.layout.open + 1;
  const size_t to = size_t(ptrdiff_t(j < e.size() ? e[j].first : m.layout.close) + delta);

  // What lies between, parsed with stand-ins for its unchanged neighbours:
  // "{}" is an object as they are, so commas and spacing are judged as
  // they would be in place.
  const std::string_view lead = i > 0 ? "{}" : "", trail = j < e.size() ? "{}" : "";
  std::string frag;
  frag.reserve(to - from + 6);
  frag.append("[").append(lead).append(t.substr(from, to - from)).append(trail).append("]");
  simdjson::dom::array arr;
  if (m.fragments.parse(frag).get_array().get(arr)) return false;
  auto spans = json::list_objects(frag, 1, frag.size() - 1);
  const size_t leading = lead.empty() ? 0 : 1;
  const size_t stand_ins = leading + (trail.empty() ? 0 : 1);
  if (!spans || spans->size() != arr.size() || spans->size() < stand_ins) return false;
  const size_t added = spans->size() - stand_ins;
  Rules mid;
  size_t index = 0;
  for (element x : arr) {
    const size_t k = index++;
    if (k < leading || k >= leading + added) continue;  // a stand-in
    if (!mid.add_quick(x, i + k - leading)) return false;
  }

  // Before, between, after; entries after shift by what was added and removed.
  const size_t front =
      size_t(std::lower_bound(m.entry_of.begin(), m.entry_of.end(), i) - m.entry_of.begin());
  const size_t back =
      size_t(std::lower_bound(m.entry_of.begin(), m.entry_of.end(), j) - m.entry_of.begin());
  // The memo's rules are taken and edited in place (10,000 of them are not
  // copied for a change of one): the memo is invalid until the caller
  // stores the new text's.
  out.rules = std::move(m.rules);
  out.entry_of = std::move(m.entry_of);
  m.valid = false;
  out.rules.erase(out.rules.begin() + ptrdiff_t(front), out.rules.begin() + ptrdiff_t(back));
  out.rules.insert(out.rules.begin() + ptrdiff_t(front), mid.rules.begin(), mid.rules.end());
  out.entry_of.erase(out.entry_of.begin() + ptrdiff_t(front),
                     out.entry_of.begin() + ptrdiff_t(back));
  out.entry_of.insert(out.entry_of.begin() + ptrdiff_t(front), mid.entry_of.begin(),
                      mid.entry_of.end());
  if (j != i + added)
    for (size_t r = front + mid.rules.size(); r < out.entry_of.size(); r++)
      out.entry_of[r] = out.entry_of[r] - j + i + added;
  where = {front, back, mid.rules.size()};

  // The entries' spans likewise: the memo's, edited in place.
  layout.open = m.layout.open;
  layout.close = size_t(ptrdiff_t(m.layout.close) + delta);
  layout.entries = std::move(m.layout.entries);
  std::vector<json::Span>& spans_now = layout.entries;
  const size_t shift = from - 1 - lead.size();  // from frag offsets to the text's
  spans_now.erase(spans_now.begin() + ptrdiff_t(i), spans_now.begin() + ptrdiff_t(j));
  spans_now.insert(spans_now.begin() + ptrdiff_t(i), spans->begin() + ptrdiff_t(leading),
                   spans->begin() + ptrdiff_t(leading + added));
  for (size_t x = i; x < i + added; x++)
    spans_now[x] = {spans_now[x].first + shift, spans_now[x].second + shift};
  if (delta != 0)
    for (size_t y = i + added; y < spans_now.size(); y++)
      spans_now[y] = {size_t(ptrdiff_t(spans_now[y].first) + delta),
                      size_t(ptrdiff_t(spans_now[y].second) + delta)};
  return true;
}

}  // namespace netkeep::pf_parse

namespace netkeep {

void give_back(PortForwardingsMemo& memo, PortForwardings&& pf) {
  if (!memo.lent) return;
  memo.rules = std::move(pf.forwardings);
  memo.runs = std::move(pf.runs);
  memo.lent = false;
}

}  // namespace netkeep
