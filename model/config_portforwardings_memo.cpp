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
  auto edit = json::locate_edit(m.layout, m.text, t);
  if (!edit) return false;
  auto fresh = json::parse_edit(m.fragments, *edit);
  if (!fresh) return false;
  const size_t i = edit->first, j = edit->last, added = fresh->added;
  Rules mid;
  size_t index = 0;
  for (element x : fresh->array) {
    const size_t k = index++;
    if (k < edit->leading || k >= edit->leading + added) continue;  // a stand-in
    if (!mid.add_quick(x, i + k - edit->leading)) return false;
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
  layout = std::move(m.layout);
  json::apply_edit(layout, *edit, fresh->spans, added);
  return true;
}

}  // namespace netkeep::pf_parse
