// One nftables op applied to a value, as the kernel applies it.
#include "reconciler/nft_apply.hpp"

#include "reconciler/nft_desired.hpp"

#include <algorithm>
#include <cerrno>
#include <tuple>

namespace netkeep {

namespace {

KernelError err(int code, std::string message) {
  return KernelError{code, std::move(message)};
}

// A count set's element: the key interval alone.
NftMapElem key_of(const NftMapElem& e) {
  return NftMapElem{e.first, e.last, {}, 0, 0, 0, 0};
}

// An element is found by its key interval; a new one must not overlap any.
std::optional<KernelError> elem_del(NftState& s, NftFamily f, const std::string& table,
                                    const std::string& map, const NftMapElem& e) {
  NftMap* m = s.map(f, table, map);
  if (!m) return err(ENOENT, "No such file or directory");
  const NftMapElem* x = find_interval(m->elems, e.first, e.last);
  if (!x) return err(ENOENT, "No such file or directory");
  m->elems.erase(m->elems.begin() + (x - m->elems.data()));
  return std::nullopt;
}

std::optional<KernelError> elem_add(NftState& s, NftFamily f, const std::string& table,
                                    const std::string& map, const NftMapElem& e) {
  NftMap* m = s.map(f, table, map);
  if (!m) return err(ENOENT, "No such file or directory");
  // A hash set's element is one port (netkeep would send a range's start
  // alone), and a map of one-port data holds one port.
  if (e.first != e.last && !ranges_set(map)) return err(EINVAL, "Invalid argument");
  if (m->kind == NftMapKind::dnat && port_data(map) && e.to_first != e.to_last)
    return err(EINVAL, "Invalid argument");
  auto at = std::find_if(m->elems.begin(), m->elems.end(),
                         [&](const NftMapElem& x) { return x.first > e.first; });
  const bool overlaps = (at != m->elems.end() && at->first <= e.last) ||
                        (at != m->elems.begin() && std::prev(at)->last >= e.first);
  if (overlaps) return err(EEXIST, "File exists");
  m->elems.insert(at, e);  // with the counts it is added with (zero, unless moved)
  return std::nullopt;
}

}  // namespace

std::optional<KernelError> apply_nft_op(NftState& s, const Op& op, uint64_t handle) {
  if (auto* o = std::get_if<NftTableAdd>(&op)) {
    if (!s.has_table(o->table.family, o->table.name)) s.tables.push_back(o->table);
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftCounterAdd>(&op)) {
    if (!s.has_table(o->family, o->table)) return err(ENOENT, "No such file or directory");
    if (s.counter(o->family, o->table, o->name)) return err(EEXIST, "File exists");
    s.counters.push_back({o->family, o->table, o->name, 0, 0});
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftChainAdd>(&op)) {
    if (!s.has_table(o->family, o->table)) return err(ENOENT, "No such file or directory");
    if (NftChain* c = s.chain(o->family, o->table, o->name)) {
      if (c->base.has_value() != o->base.has_value()) return err(EEXIST, "File exists");
      c->base = o->base;
      return std::nullopt;
    }
    s.chains.push_back({o->family, o->table, o->name, o->base, {}});
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftChainDel>(&op)) {
    auto before = s.chains.size();
    erase_if(s.chains, [&](const NftChain& c) {
      return c.family == o->family && c.table == o->table && c.name == o->name;
    });
    if (s.chains.size() == before) return err(ENOENT, "No such file or directory");
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftRuleDel>(&op)) {
    NftChain* c = s.chain(o->family, o->table, o->chain);
    if (!c) return err(ENOENT, "No such file or directory");
    auto before = c->rules.size();
    erase_if(c->rules, [&](const NftRule& r) { return r.handle == o->handle; });
    if (c->rules.size() == before) return err(ENOENT, "No such file or directory");
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftMapAdd>(&op)) {
    if (!s.has_table(o->family, o->table)) return err(ENOENT, "No such file or directory");
    if (!s.map(o->family, o->table, o->name))
      s.maps.push_back({o->family, o->table, o->name, true, {}, o->kind});
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftMapDel>(&op)) {
    auto before = s.maps.size();
    erase_if(s.maps, [&](const NftMap& m) {
      return m.family == o->family && m.table == o->table && m.name == o->name;
    });
    if (s.maps.size() == before) return err(ENOENT, "No such file or directory");
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftForwardDel>(&op)) {
    if (auto e = elem_del(s, o->family, o->table, o->map, o->elem)) return e;
    if (o->count.empty()) return std::nullopt;
    return elem_del(s, o->family, kCountTable, o->count, o->elem);
  }
  if (auto* o = std::get_if<NftForwardAdd>(&op)) {
    if (auto e = elem_add(s, o->family, o->table, o->map, o->elem)) return e;
    if (o->count.empty()) return std::nullopt;
    NftMapElem key = key_of(o->elem);
    key.packets = o->count_packets;
    key.bytes = o->count_bytes;
    return elem_add(s, o->family, kCountTable, o->count, key);
  }
  if (auto* o = std::get_if<NftElemDel>(&op))
    return elem_del(s, o->family, o->table, o->set, o->elem);
  if (auto* o = std::get_if<NftElemAdd>(&op)) {
    NftMapElem key = key_of(o->elem);
    key.packets = o->elem.packets;
    key.bytes = o->elem.bytes;
    return elem_add(s, o->family, o->table, o->set, key);
  }
  if (auto* o = std::get_if<NftKeySetAdd>(&op)) {
    if (!s.has_table(o->family, o->table)) return err(ENOENT, "No such file or directory");
    if (!s.keyset(o->family, o->table, o->name))
      s.keysets.push_back({o->family, o->table, o->name, true, {}});
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftKeySetDel>(&op)) {
    auto before = s.keysets.size();
    erase_if(s.keysets, [&](const NftKeySet& k) {
      return k.family == o->family && k.table == o->table && k.name == o->name;
    });
    if (s.keysets.size() == before) return err(ENOENT, "No such file or directory");
    return std::nullopt;
  }
  auto* add = std::get_if<NftKeyElemAdd>(&op);
  auto* del = std::get_if<NftKeyElemDel>(&op);
  if (add || del) {  // elements are kept sorted by key, keys unique
    const auto& [family, table, set, elem] =
        add ? std::tie(add->family, add->table, add->set, add->elem)
            : std::tie(del->family, del->table, del->set, del->elem);
    NftKeySet* k = s.keyset(family, table, set);
    if (!k) return err(ENOENT, "No such file or directory");
    auto at = std::lower_bound(k->elems.begin(), k->elems.end(), elem.key,
                               [](const NftKeyElem& e, const NftKey& key) { return e.key < key; });
    const bool there = at != k->elems.end() && at->key == elem.key;
    if (del) {
      if (!there) return err(ENOENT, "No such file or directory");
      k->elems.erase(at);
      return std::nullopt;
    }
    if (there) return err(EEXIST, "File exists");
    NftKeyElem e = elem;
    e.note.clear();  // the kernel keeps the key and verdict alone
    k->elems.insert(at, std::move(e));
    return std::nullopt;
  }
  if (auto* o = std::get_if<NftForwardChange>(&op)) {
    if (auto e = elem_del(s, o->family, o->table, o->map, o->from)) return e;
    return elem_add(s, o->family, o->table, o->map, o->to);
  }
  auto* o = std::get_if<NftRuleAdd>(&op);
  NftChain* c = s.chain(o->family, o->table, o->chain);
  if (!c) return err(ENOENT, "No such file or directory");
  NftRule r{o->body, handle};
  auto at = [&](uint64_t h) {
    return std::find_if(c->rules.begin(), c->rules.end(),
                        [&](const NftRule& x) { return x.handle == h; });
  };
  auto pos = c->rules.end();
  switch (o->place) {
    case RulePlace::append:
      break;
    case RulePlace::before_handle:
      pos = at(o->ref);
      if (pos == c->rules.end()) return err(ENOENT, "No such file or directory");
      break;
  }
  c->rules.insert(pos, r);
  return std::nullopt;
}

}  // namespace netkeep
