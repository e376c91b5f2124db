#include "reconciler/pinhole_keys.hpp"

#include "reconciler/protect_words.hpp"

namespace netkeep {

namespace {

// An edit touching more elements than this makes them all again: merging
// is O(elements) anyway, and a renumbering or a new file is not an edit.
constexpr size_t kMaxEdit = 256;

// Calls `f(family index, element)` with each element a pinhole gives.
template <class F>
void for_each_elem(const Pinhole& p, const std::vector<Prefix>& delegated, F f) {
  if (p.from) return;  // a rule of its own, not an element
  for_each_host(p, delegated, [&](const IpAddr& a) {
    for (uint32_t port = p.port.first; port <= p.port.last; port++)
      f(a.is_v4() ? 0 : 1, NftKeyElem{pinhole_key(a, p.proto, static_cast<uint16_t>(port)), 0, 0, 0,
                                      p.dest_iid ? p.dest_iid->str() : std::string()});
  });
}

size_t elem_count(const Pinhole& p, const std::vector<Prefix>& delegated) {
  if (p.from) return 0;
  return (p.dest_addr ? 1 : delegated.size()) * (p.port.last - p.port.first + 1u);
}

// The same host, protocol and port: what a pinhole opens (its entry aside).
bool opens_same(const Pinhole& a, const Pinhole& b) {
  return a.proto == b.proto && a.port == b.port && a.dest_addr == b.dest_addr &&
         a.dest_iid == b.dest_iid && a.from == b.from;
}

void make_all(PinholeElems& out, std::array<std::vector<uint32_t>, 2>* uses,
              const std::vector<Pinhole>& pinholes, const std::vector<Prefix>& delegated) {
  std::array<size_t, 2> n{};
  for (const Pinhole& p : pinholes)
    if (!p.from)
      for_each_host(p, delegated, [&](const IpAddr& a) {
        n[a.is_v4() ? 0 : 1] += p.port.last - p.port.first + 1u;
      });
  for (size_t f = 0; f < 2; f++) {
    out[f].clear();
    out[f].reserve(n[f]);
  }
  for (const Pinhole& p : pinholes)
    for_each_elem(p, delegated, [&](size_t f, NftKeyElem&& e) { out[f].push_back(std::move(e)); });
  for (size_t f = 0; f < 2; f++) sort_unique(out[f], uses ? &(*uses)[f] : nullptr);
}

bool by_key(const NftKeyElem& a, const NftKeyElem& b) {
  return a.key < b.key;
}

// The index of `key` in sorted `v`, or v.size().
size_t find(const std::vector<NftKeyElem>& v, const NftKey& key) {
  auto it = std::lower_bound(v.begin(), v.end(), key,
                             [](const NftKeyElem& e, const NftKey& k) { return e.key < k; });
  return it != v.end() && it->key == key ? static_cast<size_t>(it - v.begin()) : v.size();
}

// Takes elements `gone` (sorted indexes) out of `v` and `uses`, and merges
// `in` (sorted, none of its keys in `v`) in, in one pass each.
void splice_elems(std::vector<NftKeyElem>& v, std::vector<uint32_t>& uses,
                  const std::vector<size_t>& gone, std::vector<NftKeyElem>& in) {
  size_t w = gone.empty() ? v.size() : gone.front();
  for (size_t r = w, g = 0; r < v.size(); r++) {
    if (g < gone.size() && gone[g] == r) {
      g++;
      continue;
    }
    v[w] = std::move(v[r]);
    uses[w++] = uses[r];
  }
  v.resize(w);
  uses.resize(w);
  // Merged from the back, into the room made at the end.
  size_t i = v.size(), j = in.size();
  v.resize(v.size() + in.size());
  uses.resize(v.size());
  for (size_t out = v.size(); j > 0;) {
    if (i > 0 && in[j - 1].key < v[i - 1].key) {
      v[--out] = std::move(v[--i]);
      uses[out] = uses[i];
    } else {
      v[--out] = std::move(in[--j]);
      uses[out] = 1;
    }
  }
}

// The pinholes differ from `k`'s in one run: its old elements out, its
// new ones in. false, changing nothing, when that is not an edit (see
// kMaxEdit) or an element it touches is given by another pinhole too
// (which pinhole's note an element keeps is the first's: made again).
bool edit(PinholeKeys& k, const std::vector<Pinhole>& pinholes) {
  const auto& old = k.pinholes;
  const size_t max_front = std::min(old.size(), pinholes.size());
  size_t front = 0, back = 0;
  while (front < max_front && opens_same(old[front], pinholes[front])) front++;
  while (back < max_front - front &&
         opens_same(old[old.size() - 1 - back], pinholes[pinholes.size() - 1 - back]))
    back++;
  const size_t old_end = old.size() - back, new_end = pinholes.size() - back;
  size_t touched = 0;
  for (size_t i = front; i < old_end; i++) touched += elem_count(old[i], k.delegated);
  for (size_t i = front; i < new_end; i++) touched += elem_count(pinholes[i], k.delegated);
  if (touched > kMaxEdit) return false;

  PinholeElems out, in;
  for (size_t i = front; i < old_end; i++)
    for_each_elem(old[i], k.delegated,
                  [&](size_t f, NftKeyElem&& e) { out[f].push_back(std::move(e)); });
  for (size_t i = front; i < new_end; i++)
    for_each_elem(pinholes[i], k.delegated,
                  [&](size_t f, NftKeyElem&& e) { in[f].push_back(std::move(e)); });
  std::array<std::vector<size_t>, 2> gone;
  for (size_t f = 0; f < 2; f++) {
    for (const NftKeyElem& e : out[f]) {
      const size_t at = find(k.elems[f], e.key);
      if (at == k.elems[f].size() || k.uses[f][at] != 1) return false;
      gone[f].push_back(at);
    }
    std::sort(gone[f].begin(), gone[f].end());
    if (std::adjacent_find(gone[f].begin(), gone[f].end()) != gone[f].end()) return false;
    std::stable_sort(in[f].begin(), in[f].end(), by_key);
    for (size_t j = 0; j < in[f].size(); j++) {
      if (j > 0 && in[f][j].key == in[f][j - 1].key) return false;
      const size_t at = find(k.elems[f], in[f][j].key);  // kept only if it goes
      if (at != k.elems[f].size() && !std::binary_search(gone[f].begin(), gone[f].end(), at))
        return false;
    }
  }
  for (size_t f = 0; f < 2; f++) splice_elems(k.elems[f], k.uses[f], gone[f], in[f]);
  k.pinholes.erase(k.pinholes.begin() + static_cast<ptrdiff_t>(front),
                   k.pinholes.begin() + static_cast<ptrdiff_t>(old_end));
  k.pinholes.insert(k.pinholes.begin() + static_cast<ptrdiff_t>(front),
                    pinholes.begin() + static_cast<ptrdiff_t>(front),
                    pinholes.begin() + static_cast<ptrdiff_t>(new_end));
  return true;
}

}  // namespace

PinholeElems pinhole_elems(const std::vector<Pinhole>& pinholes,
                           const std::vector<Prefix>& delegated) {
  PinholeElems out;
  make_all(out, nullptr, pinholes, delegated);
  return out;
}

void update(PinholeKeys& k, const std::vector<Pinhole>& pinholes,
            const std::vector<Prefix>& delegated) {
  if (k.valid && k.delegated == delegated && edit(k, pinholes)) {
    k.edited++;
    return;
  }
  make_all(k.elems, &k.uses, pinholes, delegated);
  k.pinholes = pinholes;
  k.delegated = delegated;
  k.valid = true;
  k.made++;
}

// 10,000 pinholes are sorted when they are made: their keys (at most 24
// bytes, e.g. ip6 daddr . l4proto . dport) are sorted as three big-endian
// words in a compact array, and the elements moved once.
void sort_unique(std::vector<NftKeyElem>& v, std::vector<uint32_t>* uses) {
  struct Key {
    std::array<uint64_t, 3> words{};
    uint32_t size = 0, at = 0;
    bool operator<(const Key& o) const {  // word by word: std::array's own calls memcmp
      for (size_t w = 0; w < 3; w++)
        if (words[w] != o.words[w]) return words[w] < o.words[w];
      return size != o.size ? size < o.size : at < o.at;
    }
    bool same(const Key& o) const {
      return words[0] == o.words[0] && words[1] == o.words[1] && words[2] == o.words[2] &&
             size == o.size;
    }
  };
  if (uses) uses->clear();
  if (std::any_of(v.begin(), v.end(), [](const NftKeyElem& e) { return e.key.size() > 24; })) {
    // No such key in netkeep's sets; kept correct anyway.
    std::stable_sort(v.begin(), v.end(), by_key);
    std::vector<NftKeyElem> out;
    for (auto& e : v) {
      if (!out.empty() && out.back().key == e.key) {
        if (uses) uses->back()++;
        continue;
      }
      out.push_back(std::move(e));
      if (uses) uses->push_back(1);
    }
    v = std::move(out);
    return;
  }
  std::vector<Key> keys(v.size());
  for (size_t i = 0; i < v.size(); i++) {
    for (size_t w = 0; w < 3; w++) keys[i].words[w] = v[i].key.word(w);
    keys[i].size = static_cast<uint32_t>(v[i].key.size());
    keys[i].at = static_cast<uint32_t>(i);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<NftKeyElem> out;
  out.reserve(v.size());
  for (size_t i = 0; i < keys.size(); i++) {
    if (i > 0 && keys[i].same(keys[i - 1])) {
      if (uses) uses->back()++;
      continue;
    }
    out.push_back(std::move(v[keys[i].at]));
    if (uses) uses->push_back(1);
  }
  v = std::move(out);
}

}  // namespace netkeep
