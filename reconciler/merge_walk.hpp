// One sorted merge walk over what the kernel has and what is wanted
// (FBOSS's StateDelta habit): the items of both lists that share a key are
// handed over together, key by key, so a diff costs O((n + m) log(n + m))
// rather than a scan of one list for each item of the other.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

namespace netkeep {

// Calls f(have_items, want_items) once for each key present in either
// list, in key order; each span holds pointers to the items with that key,
// in their list's order (one of the two spans may be empty). `key(x)`
// returns something ordered by < (e.g. a std::tie of fields).
template <class T, class KeyOf, class F>
void merge_walk(const std::vector<T>& have, const std::vector<T>& want, KeyOf key, F f) {
  auto by_key = [&](const std::vector<T>& v) {
    std::vector<const T*> p;
    p.reserve(v.size());
    for (const T& x : v) p.push_back(&x);
    std::stable_sort(p.begin(), p.end(), [&](const T* a, const T* b) { return key(*a) < key(*b); });
    return p;
  };
  const std::vector<const T*> h = by_key(have), w = by_key(want);
  size_t i = 0, j = 0;
  while (i < h.size() || j < w.size()) {
    const T& first = i < h.size() && (j == w.size() || !(key(*w[j]) < key(*h[i]))) ? *h[i] : *w[j];
    size_t i_end = i, j_end = j;
    while (i_end < h.size() && !(key(first) < key(*h[i_end]))) i_end++;
    while (j_end < w.size() && !(key(first) < key(*w[j_end]))) j_end++;
    f(std::span<const T* const>(h.data() + i, i_end - i),
      std::span<const T* const>(w.data() + j, j_end - j));
    i = i_end;
    j = j_end;
  }
}

}  // namespace netkeep
