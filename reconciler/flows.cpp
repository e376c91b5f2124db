#include "reconciler/flows.hpp"

#include <algorithm>

namespace netkeep {

namespace {

struct Mapping {
  uint8_t proto;
  const NftMapElem* elem;
};

// The destination port the DNAT of `e` gives port `p`: its one port, or
// `p` itself for a range (netkeep maps a port range only to itself, and
// the kernel's NAT keeps a port that lies inside the range it is given;
// the element's key may be a part of that range, cut by first match).
uint16_t mapped(const NftMapElem& e, uint16_t p) {
  return e.to_first == e.to_last ? e.to_first : p;
}

bool before(const Mapping& a, const Mapping& b) {
  return a.proto != b.proto ? a.proto < b.proto : a.elem->first < b.elem->first;
}

// The new DNAT of `p`, if the plan adds one. `news` is sorted, and its
// elements of one protocol are disjoint (one map per protocol and kind).
const NftMapElem* covering(const std::vector<Mapping>& news, uint8_t proto, uint16_t p) {
  const NftMapElem key{p, p};
  auto it = std::upper_bound(news.begin(), news.end(), Mapping{proto, &key}, before);
  if (it == news.begin()) return nullptr;
  --it;
  return it->proto == proto && it->elem->first <= p && p <= it->elem->last ? it->elem : nullptr;
}

}  // namespace

void plan_flows(std::vector<Op>& ops, size_t from, bool keep_tcp) {
  std::vector<Mapping> olds, news;
  size_t last_nft = ops.size();
  for (size_t i = from; i < ops.size(); i++) {
    const Op& op = ops[i];
    if (is_nft(op)) last_nft = i;
    if (auto* d = std::get_if<NftForwardDel>(&op)) olds.push_back({d->proto, &d->elem});
    if (auto* c = std::get_if<NftForwardChange>(&op)) {
      olds.push_back({c->proto, &c->from});
      news.push_back({c->proto, &c->to});
    }
    if (auto* a = std::get_if<NftForwardAdd>(&op)) news.push_back({a->proto, &a->elem});
  }
  std::sort(news.begin(), news.end(), before);
  std::vector<Op> ends;
  for (const auto& o : olds) {
    if (keep_tcp && o.proto == 6) continue;
    const NftMapElem& e = *o.elem;
    // Runs of ports that end alike (moving, or no longer forwarded).
    std::optional<FlowsEnd> run;
    auto flush = [&] {
      if (run) ends.push_back(*run);
      run.reset();
    };
    for (uint32_t p = e.first; p <= e.last; p++) {
      const auto port = static_cast<uint16_t>(p);
      const NftMapElem* n = covering(news, o.proto, port);
      if (n && n->addr == e.addr && mapped(*n, port) == mapped(e, port)) {
        flush();  // the same destination: these flows stay right
        continue;
      }
      if (run && run->moves == (n != nullptr)) {
        run->ports.last = port;
        run->to_ports.last = mapped(e, port);
        continue;
      }
      flush();
      run = FlowsEnd{
          o.proto, {port, port}, e.addr, {mapped(e, port), mapped(e, port)}, n != nullptr, {}};
    }
    flush();
  }
  if (ends.empty()) return;
  ops.insert(ops.begin() + static_cast<std::ptrdiff_t>(last_nft + 1), ends.begin(), ends.end());
}

}  // namespace netkeep
