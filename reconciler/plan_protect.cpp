#include "reconciler/plan_protect.hpp"

#include <algorithm>

#include "reconciler/nft_protect.hpp"

namespace netkeep {

namespace {

bool is_protection(NftFamily f, const std::string& table) {
  return table == kProtectTable && f != NftFamily::inet;
}

// Replaces what `want` has of protection by what `have` has.
void keep_all(const NftState& have, NftState& want) {
  std::erase_if(want.chains,
                [](const NftChain& c) { return protect_chain(c.family, c.table, c.name); });
  std::erase_if(want.keysets, [](const NftKeySet& k) { return is_protection(k.family, k.table); });
  for (const auto& c : have.chains)
    if (protect_chain(c.family, c.table, c.name)) want.chains.push_back(c);
  for (const auto& k : have.keysets) want.keysets.push_back(k);
  for (const auto& c : have.counters)
    if (protect_counter(c.family, c.table, c.name) && !want.counter(c.family, c.table, c.name))
      want.counters.push_back(c);
  for (const auto& t : have.tables)
    if (is_protection(t.family, t.name) && !want.has_table(t.family, t.name))
      want.tables.push_back(t);
}

void keep_elems(const NftState& have, const char* set, NftState& want) {
  for (auto& k : want.keysets)
    if (k.name == set)
      if (const NftKeySet* h = have.keyset(k.family, k.table, k.name)) k.elems = h->elems;
}

}  // namespace

std::vector<Prefix> delegated_prefixes(const Desired& d) {
  std::vector<Prefix> out;
  if (d.dhcp6.ok() && !d.dhcp6.value.ended)
    for (const Prefix& p : d.dhcp6.value.prefixes)
      if (!p.addr.is_v4()) out.push_back(p);
  return out;
}

void keep_pinhole_keys(PinholeKeys& keys, const Desired& d) {
  if (!d.firewall.governs() || !d.firewall.ok() || !d.firewall.value.protect_lan) {
    keys.valid = false;
    return;
  }
  update(keys, d.firewall.value.pinholes, delegated_prefixes(d));
}

std::vector<std::string> want_protection(const Desired& d, const NftState& have,
                                         const std::string& uplink, NftState& want,
                                         const PinholeKeys* keys) {
  if (!d.firewall.governs()) {
    keep_all(have, want);
    return {};
  }
  ProtectInputs in;
  if (d.firewall.ok()) in.firewall = &d.firewall.value;
  in.uplink = uplink;
  in.keys = keys;
  in.delegated = delegated_prefixes(d);
  if (d.wireguard.ok())
    for (const auto& w : d.wireguard.value.interfaces)
      if (w.port) in.wg_ports.push_back(w.port);
  auto warnings = add_protection(in, want);
  if (!in.firewall) return warnings;
  const auto& pins = in.firewall->pinholes;
  if (!d.dhcp6.governs() &&
      std::any_of(pins.begin(), pins.end(), [](const Pinhole& p) { return p.dest_iid; }))
    keep_elems(have, kPinholeSet, want);
  if (!d.wireguard.governs()) keep_elems(have, kOpenSet, want);
  return warnings;
}

KeySetOps diff_keysets(const NftState& have, const NftState& want) {
  KeySetOps out;
  for (const auto& w : want.keysets) {
    const NftKeySet* h = have.keyset(w.family, w.table, w.name);
    if (h && !h->typed && w.typed) {  // (a frozen copy of one stays as it is)
      out.set_dels.push_back(
          NftKeySetDel{w.family, w.table, w.name, "not of the type netkeep makes"});
      if (std::find(out.remade.begin(), out.remade.end(), w.family) == out.remade.end())
        out.remade.push_back(w.family);
      h = nullptr;
    }
    if (!h) out.set_adds.push_back(NftKeySetAdd{w.family, w.table, w.name});
    static const std::vector<NftKeyElem> none;
    const auto& he = h ? h->elems : none;
    // Both sorted by key: one merge walk. A verdict that differs is an
    // element deleted and added again.
    // One comparison of two keys a step (10,000 pinholes a reconcile).
    size_t i = 0, j = 0;
    while (i < he.size() || j < w.elems.size()) {
      const int c = i == he.size()                       ? 1
                    : j == w.elems.size()                ? -1
                    : (he[i].key <=> w.elems[j].key) < 0 ? -1
                    : he[i].key == w.elems[j].key        ? 0
                                                         : 1;
      if (c < 0) {
        out.elem_dels.push_back(NftKeyElemDel{w.family, w.table, w.name, he[i++]});
      } else if (c > 0) {
        out.elem_adds.push_back(NftKeyElemAdd{w.family, w.table, w.name, w.elems[j++]});
      } else {
        if (he[i].verdict != w.elems[j].verdict) {
          out.elem_dels.push_back(NftKeyElemDel{w.family, w.table, w.name, he[i]});
          out.elem_adds.push_back(NftKeyElemAdd{w.family, w.table, w.name, w.elems[j]});
        }
        i++, j++;
      }
    }
  }
  for (const auto& h : have.keysets)
    if (!want.keyset(h.family, h.table, h.name))
      out.set_dels.push_back(NftKeySetDel{h.family, h.table, h.name, "protection is off"});
  return out;
}

}  // namespace netkeep
