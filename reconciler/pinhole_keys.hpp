// The elements of LAN protection's `pinholes` sets (nft_protect.hpp): one
// per host, protocol and port that a pinhole without `from` opens, sorted
// by key, each key once. At 10,000 pinholes, making and sorting them was
// most of a reconcile's plan, for a change of one pinhole.
//
// The daemon keeps them from one plan to the next (PinholeKeys). When the
// pinholes differ from the last ones in one run of a few (one added,
// removed or edited) and lan0's prefixes are the same, only that run's
// elements are taken out and its new ones merged in; anything else makes
// them all again. Either way the elements are what making them all gives
// (tests compare the two over random edits).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "model/desired.hpp"
#include "model/nft.hpp"

namespace netkeep {

// Calls `f` with each host a pinhole opens: its address, or its interface
// identifier on each of `delegated` (lan0's /64s).
template <class F>
void for_each_host(const Pinhole& p, const std::vector<Prefix>& delegated, F f) {
  if (p.dest_addr) return f(*p.dest_addr);
  for (const Prefix& d : delegated) {
    IpAddr a = d.network().addr;
    std::copy(p.dest_iid->bytes.begin() + 8, p.dest_iid->bytes.end(), a.bytes.begin() + 8);
    f(a);
  }
}

// The pinhole sets' elements, [0] for ip and [1] for ip6.
using PinholeElems = std::array<std::vector<NftKeyElem>, 2>;

PinholeElems pinhole_elems(const std::vector<Pinhole>& pinholes,
                           const std::vector<Prefix>& delegated);

struct PinholeKeys {
  bool valid = false;
  // What `elems` was made from (the pinholes' `entry` is not kept: an
  // entry moved by an edit before it opens the same).
  std::vector<Pinhole> pinholes;
  std::vector<Prefix> delegated;
  PinholeElems elems;
  std::array<std::vector<uint32_t>, 2> uses;  // how many pinholes give each element
  uint64_t made = 0, edited = 0;              // updates that made all, that edited
};

// Brings `k` to `pinholes` on `delegated`; `k.elems` is then what
// pinhole_elems() returns for them.
void update(PinholeKeys& k, const std::vector<Pinhole>& pinholes,
            const std::vector<Prefix>& delegated);

// Sorted by key, each key once (the first of equal ones, in `v`'s order);
// with `uses`, how many of each there were.
void sort_unique(std::vector<NftKeyElem>& v, std::vector<uint32_t>* uses = nullptr);

}  // namespace netkeep
