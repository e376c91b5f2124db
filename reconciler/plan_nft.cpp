// The nftables part of the planner: the minimal ops that make the owned
// tables, counters, chains and rules equal to the desired ruleset. Objects
// netkeep does not own are never named in an op; tables are never deleted;
// the ruleset is never flushed.
#include <algorithm>
#include <functional>
#include <iterator>

#include "model/nft_text.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/plan_protect.hpp"
#include "reconciler/plan.hpp"

namespace netkeep {

namespace {

struct Ids {
  uint32_t next = 1;
};

// Appends the whole chain's rules in order, for a chain made in this plan.
// The rules are moved into the ops: a desired ruleset is built for one plan.
void add_all(NftChain& want, Ids& ids, std::vector<Op>& ops) {
  for (auto& r : want.rules)
    ops.push_back(NftRuleAdd{want.family, want.table, want.name, std::move(r.body), ids.next++,
                             RulePlace::append, 0});
}

// Longest increasing subsequence of `seq` (values are desired indices),
// returned as positions in `seq`. O(n log n).
std::vector<size_t> longest_increasing(const std::vector<size_t>& seq) {
  std::vector<size_t> tails;  // positions in seq
  std::vector<size_t> parent(seq.size(), SIZE_MAX);
  for (size_t i = 0; i < seq.size(); i++) {
    auto it = std::lower_bound(tails.begin(), tails.end(), seq[i],
                               [&](size_t pos, size_t v) { return seq[pos] < v; });
    if (it != tails.begin()) parent[i] = *(it - 1);
    if (it == tails.end())
      tails.push_back(i);
    else
      *it = i;
  }
  std::vector<size_t> out;
  for (size_t i = tails.empty() ? SIZE_MAX : tails.back(); i != SIZE_MAX; i = parent[i])
    out.push_back(i);
  std::reverse(out.begin(), out.end());
  return out;
}

// The rules to delete (by handle) and add (at their position) so that the
// chain's order equals the desired order. Rules already in place, in order,
// are kept: their handles and counters do not change.
void diff_rules(const NftChain& have, NftChain& want, Ids& ids, std::vector<Op>& ops) {
  const size_t nh = have.rules.size(), nw = want.rules.size();
  std::vector<uint64_t> kept(nw, 0);  // desired index -> handle of the kept rule
  std::vector<bool> have_kept(nh, false);
  auto keep = [&](size_t i, size_t j) {
    kept[i] = have.rules[j].handle;
    have_kept[j] = true;
  };
  // Rules equal at the same place from either end are kept without
  // hashing: a change to a long chain usually touches a few rules.
  size_t pre = 0, suf = 0;
  while (pre < nh && pre < nw && have.rules[pre].body == want.rules[pre].body) {
    keep(pre, pre);
    pre++;
  }
  while (suf < nh - pre && suf < nw - pre &&
         have.rules[nh - 1 - suf].body == want.rules[nw - 1 - suf].body) {
    keep(nw - 1 - suf, nh - 1 - suf);
    suf++;
  }

  // In between: desired rules by hash, in order, so equal rules pair up
  // first to first. One sorted array, no allocation per rule.
  std::vector<std::pair<uint64_t, size_t>> wanted;
  wanted.reserve(nw - pre - suf);
  for (size_t i = pre; i < nw - suf; i++) wanted.emplace_back(hash_of(want.rules[i].body), i);
  std::sort(wanted.begin(), wanted.end());
  std::vector<bool> taken(nw, false);
  std::vector<size_t> seq, seq_have;  // matched (desired index, have index) in chain order
  for (size_t j = pre; j < nh - suf; j++) {
    const RuleBody& body = have.rules[j].body;
    const uint64_t h = hash_of(body);
    auto it = std::lower_bound(wanted.begin(), wanted.end(), std::pair{h, size_t{0}});
    // Equal hashes are checked for equal rules; a collision is simply no match.
    for (; it != wanted.end() && it->first == h; ++it) {
      if (taken[it->second] || want.rules[it->second].body != body) continue;
      taken[it->second] = true;
      seq.push_back(it->second);
      seq_have.push_back(j);
      break;
    }
  }
  for (size_t pos : longest_increasing(seq)) keep(seq[pos], seq_have[pos]);

  for (size_t j = 0; j < have.rules.size(); j++)
    if (!have_kept[j])
      ops.push_back(NftRuleDel{have.family, have.table, have.name, have.rules[j].handle,
                               rule_text(have.rules[j].body)});

  // A new rule goes before the next kept rule, or at the end when none
  // follows: consecutive new rules then land in order. (Positioning after a
  // rule of the same transaction, NFTA_RULE_POSITION_ID, makes the kernel
  // search the transaction for each rule: quadratic for long runs.)
  uint64_t next_kept = 0;
  std::vector<uint64_t> before(want.rules.size(), 0);
  for (size_t i = want.rules.size(); i-- > 0;) {
    before[i] = next_kept;
    if (kept[i]) next_kept = kept[i];
  }
  for (size_t i = 0; i < want.rules.size(); i++) {
    if (kept[i]) continue;
    NftRuleAdd add{want.family, want.table,
                   want.name,   std::move(want.rules[i].body),
                   ids.next++,  before[i] ? RulePlace::before_handle : RulePlace::append,
                   before[i]};
    ops.push_back(std::move(add));
  }
}

// The elements to delete, change and add so that a forwarding map's
// elements equal the desired ones, and its count set's keys with them.
// Elements are disjoint intervals sorted by key, so one merge walk pairs
// them; kept elements keep their counters. Deletions go first: an added
// interval may overlap a deleted one (a range split by a new exception),
// and the kernel checks overlaps as it goes.
struct ElemOps {
  std::vector<Op> dels, changes, adds;
};

// Whether `keys` (sorted by first port, disjoint) has exactly e's interval.
bool has_exact(const std::vector<NftMapElem>& keys, const NftMapElem& e) {
  return find_interval(keys, e.first, e.last) != nullptr;
}

// Counters that move with an element from another map of its protocol:
// one made again because it was of another type (an earlier netkeep's one
// interval map per protocol, which held single ports and ranges alike, or
// its two, whose data was an interval even for one port).
// Only an element of exactly the same ports moves; the kernel takes the
// counter values an element is added with.
struct Carry {
  const NftState& have;
  // The element equal to `e` (its ports, and for a forwarding map its
  // destination) in a map of `want`'s kind and protocol other than `live`,
  // the one kept: from there it is deleted.
  const NftMapElem* from(const NftMap& want, const NftMap* live, const NftMapElem& e) const {
    auto proto = [&](const NftMap& m) {
      return m.kind == NftMapKind::dnat ? forwarding_map_proto(m.name) : count_set_proto(m.name);
    };
    for (const auto& m : have.maps) {
      if (&m == live || m.kind != want.kind || m.family != want.family || proto(m) != proto(want))
        continue;
      const NftMapElem* x = find_interval(m.elems, e.first, e.last);
      if (x && (want.kind == NftMapKind::count || x->same(e))) return x;
    }
    return nullptr;
  }
  NftMapElem counted(const NftMap& want, const NftMap* live, NftMapElem e) const {
    if (const NftMapElem* x = from(want, live, e)) e.packets = x->packets, e.bytes = x->bytes;
    return e;
  }
};

void diff_elems(const NftMap* have, const NftMap& want, const NftMap* have_count,
                const NftMap& want_count, const Carry& carry, ElemOps& out) {
  const uint8_t proto = forwarding_map_proto(want.name);
  static const std::vector<NftMapElem> none;
  const auto& h = have ? have->elems : none;
  const auto& w = want.elems;
  const auto& hc = have_count ? have_count->elems : none;
  // Keys the count set holds and that an op here deletes or adds with the map's.
  std::vector<NftMapElem> count_gone, count_new;
  auto del = [&](const NftMapElem& e) {
    std::string c;
    if (has_exact(hc, e)) {
      c = want_count.name;
      count_gone.push_back(e);
    }
    out.dels.push_back(NftForwardDel{want.family, want.table, want.name, proto, e, c});
  };
  std::vector<NftMapElem> to_add;
  size_t i = 0, j = 0;
  while (i < h.size() || j < w.size()) {
    if (j == w.size() || (i < h.size() && h[i].first < w[j].first)) {
      del(h[i++]);
    } else if (i == h.size() || w[j].first < h[i].first) {
      to_add.push_back(w[j++]);
    } else if (h[i].same(w[j])) {
      i++, j++;
    } else if (h[i].last == w[j].last) {
      out.changes.push_back(
          NftForwardChange{want.family, want.table, want.name, proto, h[i++], w[j++]});
    } else {
      del(h[i++]);
      to_add.push_back(w[j++]);
    }
  }
  for (const auto& e : to_add) {
    std::string c;
    // A key the count set keeps (not deleted above) needs no add.
    if (!has_exact(hc, e) || has_exact(count_gone, e)) {
      c = want_count.name;
      count_new.push_back(e);
    }
    NftForwardAdd add{want.family, want.table, want.name, proto, carry.counted(want, have, e), c};
    if (!c.empty()) {
      const NftMapElem counts = carry.counted(want_count, have_count, e);
      add.count_packets = counts.packets;
      add.count_bytes = counts.bytes;
    }
    out.adds.push_back(std::move(add));
  }
  // Drift in the count set alone: keys it holds beyond the desired ones
  // (and not deleted above), and desired keys it lacks (and not added
  // above). Both are sorted: one merge walk. (count_gone and count_new hold
  // only what changed.)
  const auto& wc = want_count.keys_of_map ? w : want_count.elems;
  auto only_have = [&](const NftMapElem& x) {
    if (!has_exact(count_gone, x))
      out.dels.push_back(NftElemDel{want_count.family, want_count.table, want_count.name, x});
  };
  auto only_want = [&](const NftMapElem& x) {
    if (!has_exact(count_new, x))
      out.adds.push_back(NftElemAdd{want_count.family, want_count.table, want_count.name,
                                    carry.counted(want_count, have_count, {x.first, x.last})});
  };
  for (size_t a = 0, b = 0; a < hc.size() || b < wc.size();) {
    if (b == wc.size() || (a < hc.size() && hc[a].first < wc[b].first)) {
      only_have(hc[a++]);
    } else if (a == hc.size() || wc[b].first < hc[a].first) {
      only_want(wc[b++]);
    } else if (hc[a].last != wc[b].last) {
      only_have(hc[a++]);
      only_want(wc[b++]);
    } else {  // held and wanted: wanted again if deleted with its map element
      if (has_exact(count_gone, wc[b])) only_want(wc[b]);
      a++, b++;
    }
  }
}

std::optional<Prefix> lan_prefix(const Desired& d) {
  if (!d.interfaces.ok()) return std::nullopt;
  for (const auto& s : d.interfaces.value.interfaces)
    if (s.name == "lan0" && s.addr && s.addr->addr.is_v4()) return s.addr->network();
  return std::nullopt;
}

// How diff_nft treats what `want` does not decide.
struct DiffMode {
  // A chain whose rules stay as they are (a file they come from is invalid).
  std::function<bool(const NftChain&)> frozen_chain = [](const NftChain&) { return false; };
  bool fwd_frozen = false;    // the forwarding maps' elements stay as they are
  bool remove_extra = false;  // owned chains and maps `want` lacks are deleted
                              // (undoing a change, restore.hpp); tables and
                              // counters never are
};

// The ops that make `have` equal to `want`, as `mode` says.
void diff_nft(const NftState& have, NftState want, const DiffMode& mode, std::vector<Op>& ops) {
  const auto& frozen_chain = mode.frozen_chain;
  const bool fwd_frozen = mode.fwd_frozen;
  for (const auto& t : want.tables)
    if (!have.has_table(t.family, t.name)) ops.push_back(NftTableAdd{t});
  for (const auto& c : want.counters)
    if (!have.counter(c.family, c.table, c.name))
      ops.push_back(NftCounterAdd{c.family, c.table, c.name});

  // The forwarding maps and count sets: created when missing, recreated
  // when of another type (which needs the rules that use them deleted
  // first), their elements frozen with the forwarding chain.
  const NftChain* fwd_chain = have.chain(NftFamily::ip, "nat", kForwardingChain);
  const NftChain* count_chain = have.chain(NftFamily::ip, kCountTable, "forward");
  std::vector<Op> map_ops;
  ElemOps elems;
  bool recreate_fwd = false, recreate_count = false;
  std::vector<const NftMap*> live(want.maps.size());  // what is kept of each
  for (size_t k = 0; k < want.maps.size(); k++) {
    const NftMap& wm = want.maps[k];
    const NftMap* hm = have.map(wm.family, wm.table, wm.name);
    if (hm && !hm->typed && !fwd_frozen) {
      (wm.kind == NftMapKind::dnat ? recreate_fwd : recreate_count) = true;
      map_ops.push_back(NftMapDel{wm.family, wm.table, wm.name, "not of the type netkeep makes"});
      hm = nullptr;
    }
    if (!hm) map_ops.push_back(NftMapAdd{wm.family, wm.table, wm.name, wm.kind});
    live[k] = hm;
  }
  if (!fwd_frozen)
    for (size_t k = 0; k < want.maps.size(); k++) {  // each map with its count set
      if (want.maps[k].kind != NftMapKind::dnat) continue;
      const std::string_view name = want.maps[k].name;
      const char* count = count_set(forwarding_map_proto(name), set_shape(name));
      for (size_t c = 0; c < want.maps.size(); c++)
        if (want.maps[c].kind == NftMapKind::count && want.maps[c].name == count)
          diff_elems(live[k], want.maps[k], live[c], want.maps[c], Carry{have}, elems);
    }

  // Protection's sets; its chains that use a set made again are made again
  // too, and those the config no longer has are deleted (their rules go
  // with them), before the sets they use.
  KeySetOps keysets = diff_keysets(have, want);
  auto remade = [&](const NftChain& c) {
    return protect_chain(c.family, c.table, c.name) &&
           std::find(keysets.remade.begin(), keysets.remade.end(), c.family) !=
               keysets.remade.end();
  };
  Ids ids;
  std::vector<Op> chain_ops, rule_ops, early_rule_dels;
  for (const auto& hc : have.chains)
    if (protect_chain(hc.family, hc.table, hc.name) && !want.chain(hc.family, hc.table, hc.name))
      chain_ops.push_back(NftChainDel{hc.family, hc.table, hc.name, "protection is off"});
  for (auto& wc : want.chains) {
    const NftChain* hc = have.chain(wc.family, wc.table, wc.name);
    const bool frozen = frozen_chain(wc);
    if (hc && remade(*hc)) {
      chain_ops.push_back(NftChainDel{wc.family, wc.table, wc.name, "uses a set made again"});
      chain_ops.push_back(NftChainAdd{wc.family, wc.table, wc.name, wc.base});
      if (!frozen) add_all(wc, ids, rule_ops);
      continue;
    }
    if (hc && ((recreate_fwd && hc == fwd_chain) || (recreate_count && hc == count_chain))) {
      // The rules that use a map must go before the map; all come back after.
      for (const auto& r : hc->rules)
        early_rule_dels.push_back(
            NftRuleDel{hc->family, hc->table, hc->name, r.handle, rule_text(r.body)});
      add_all(wc, ids, rule_ops);
      continue;
    }
    NftChain empty{wc.family, wc.table, wc.name, wc.base, {}};
    if (hc && hc->base != wc.base) {
      bool policy_only = hc->base && wc.base && hc->base->type == wc.base->type &&
                         hc->base->hook == wc.base->hook && hc->base->priority == wc.base->priority;
      if (policy_only) {
        chain_ops.push_back(NftChainAdd{wc.family, wc.table, wc.name, wc.base});
      } else {
        // Type, hook and priority of a chain cannot change in place.
        chain_ops.push_back(
            NftChainDel{wc.family, wc.table, wc.name, "wrong type, hook or priority"});
        chain_ops.push_back(NftChainAdd{wc.family, wc.table, wc.name, wc.base});
        if (!frozen) add_all(wc, ids, rule_ops);
        continue;
      }
    }
    if (!hc) {
      chain_ops.push_back(NftChainAdd{wc.family, wc.table, wc.name, wc.base});
      if (!frozen) add_all(wc, ids, rule_ops);
      continue;
    }
    if (!frozen) diff_rules(*hc, wc, ids, rule_ops);
  }
  // Deletions of chains before creations (a recreated chain reuses its name).
  std::stable_partition(chain_ops.begin(), chain_ops.end(),
                        [](const Op& o) { return std::holds_alternative<NftChainDel>(o); });
  ops.insert(ops.end(), chain_ops.begin(), chain_ops.end());
  ops.insert(ops.end(), early_rule_dels.begin(), early_rule_dels.end());
  ops.insert(ops.end(), map_ops.begin(), map_ops.end());
  for (auto* part : {&keysets.set_dels, &keysets.set_adds, &keysets.elem_dels, &keysets.elem_adds})
    ops.insert(ops.end(), std::make_move_iterator(part->begin()),
               std::make_move_iterator(part->end()));
  for (auto* part : {&elems.dels, &elems.changes, &elems.adds})
    ops.insert(ops.end(), part->begin(), part->end());
  ops.insert(ops.end(), rule_ops.begin(), rule_ops.end());
  if (!mode.remove_extra) return;
  // Last: the rules that jumped to them or used them are gone by now.
  for (const auto& hc : have.chains)
    if (!want.chain(hc.family, hc.table, hc.name) && !protect_chain(hc.family, hc.table, hc.name))
      ops.push_back(NftChainDel{hc.family, hc.table, hc.name, "not there before"});
  for (const auto& hm : have.maps)
    if (!want.map(hm.family, hm.table, hm.name))
      ops.push_back(NftMapDel{hm.family, hm.table, hm.name, "not there before"});
}

}  // namespace

void plan_nft(const Desired& d, const Actual& actual, const LinkView& v, std::vector<Op>& ops,
              std::vector<std::string>& warnings, const PinholeKeys* pinholes) {
  NftInputs in{v.uplink(), lan_prefix(d), {}};
  in.count_elems = false;
  if (d.portforwardings.ok()) in.config = &d.portforwardings.value;
  // Rules derived from a file that is invalid stay exactly as they are:
  // the forwarding rules come from portforwardings.json and lan0's prefix;
  // masquerade, hairpin and MSS clamping from the uplink's name and lan0's
  // prefix, both interfaces.json's. Such a chain or forwarding map that
  // does not exist yet is created empty.
  const bool fwd_frozen = !d.portforwardings.governs() || !d.interfaces.governs();
  auto frozen_chain = [&](const NftChain& c) {
    if (c.name == kForwardingChain) return fwd_frozen;
    return !d.interfaces.governs() &&
           (c.name == "postrouting" || (c.name == "forward" && c.table == "filter") ||
            protect_chain(c.family, c.table, c.name));
  };
  NftState want = desired_ruleset(in);
  for (auto& w : want_protection(d, actual.nft, in.uplink, want, pinholes))
    warnings.push_back(std::move(w));
  diff_nft(actual.nft, std::move(want), DiffMode{frozen_chain, fwd_frozen, false}, ops);
}

namespace {

bool has_lookup(const NftRule& r) {
  bool found = false;
  for_each_expr(r.body.view(), [&](std::string_view name, std::string_view) {
    found = found || name == "lookup";
  });
  return found;
}

// A snapshot taken under an earlier netkeep's layout (one interval map and
// count set per protocol, or two whose data was an interval even for one
// port, read as of another type) is restored in the layout netkeep makes
// now: each element in the map of its shape, with its counts, and the
// dispatch and count rules looking up every map. Putting the earlier
// layout back would leave the maps made since with nothing looking them up.
NftState in_current_layout(NftState s) {
  const bool earlier = std::any_of(s.maps.begin(), s.maps.end(),
                                   [](const NftMap& m) { return !m.typed && !ranges_set(m.name); });
  if (!earlier) return s;
  const NftState current = desired_ruleset(NftInputs{});
  for (const auto& m : current.maps)
    if (!s.map(m.family, m.table, m.name)) s.maps.push_back(m);
  for (const auto& c : current.chains) {
    NftChain* have = s.chain(c.family, c.table, c.name);
    if (!have || std::none_of(have->rules.begin(), have->rules.end(), has_lookup)) continue;
    std::erase_if(have->rules, has_lookup);  // the guard stays as it was
    std::copy_if(c.rules.begin(), c.rules.end(), std::back_inserter(have->rules), has_lookup);
  }
  for (auto& m : s.maps) m.typed = true;
  auto by_port = [](NftMap& m) {
    std::sort(m.elems.begin(), m.elems.end(),
              [](const NftMapElem& x, const NftMapElem& y) { return x.first < y.first; });
  };
  // Each forwarding map's elements to the map of their shape, a single
  // port's data made one port; then each count set's to the set of its
  // map element's shape (a count element has no data of its own).
  auto move_misplaced = [&](NftMap& m, uint8_t proto, auto shape_of_elem, auto name_of_shape) {
    const FwdShape shape = set_shape(m.name);
    std::vector<NftMapElem> keep;
    for (const NftMapElem& e : m.elems) {
      const FwdShape to = shape_of_elem(e);
      if (to == shape) {
        keep.push_back(e);
      } else if (NftMap* other = s.map(m.family, m.table, name_of_shape(proto, to))) {
        other->elems.push_back(e);
      }  // (none: not one of netkeep's families or tables)
    }
    m.elems = std::move(keep);
  };
  for (size_t k = 0; k < s.maps.size(); k++)  // by index: pushing to another map moves none
    if (const uint8_t proto = forwarding_map_proto(s.maps[k].name);
        proto && s.maps[k].kind == NftMapKind::dnat)
      move_misplaced(s.maps[k], proto, shape_of, forwarding_map);
  for (auto& m : s.maps) {
    if (m.kind != NftMapKind::dnat || !forwarding_map_proto(m.name)) continue;
    if (port_data(m.name))
      for (auto& e : m.elems)
        if (e.first == e.last) e = with_port_data(e);
    by_port(m);
  }
  for (size_t k = 0; k < s.maps.size(); k++) {
    const uint8_t proto = count_set_proto(s.maps[k].name);
    if (!proto || s.maps[k].kind != NftMapKind::count) continue;
    auto shape_in_maps = [&](const NftMapElem& e) {
      for (FwdShape shape : kFwdShapes)
        if (const NftMap* m = s.map(NftFamily::ip, "nat", forwarding_map(proto, shape)))
          if (const NftMapElem* x = find_interval(m->elems, e.first, e.last)) return shape_of(*x);
      return e.first == e.last ? FwdShape::port : FwdShape::range;  // counts of no forwarding
    };
    move_misplaced(s.maps[k], proto, shape_in_maps, count_set);
  }
  for (auto& m : s.maps) by_port(m);
  return s;
}

}  // namespace

void plan_nft_restore(const NftState& before, const NftState& now, std::vector<Op>& ops) {
  DiffMode undo;
  undo.remove_extra = true;
  diff_nft(now, in_current_layout(before), undo, ops);
}

}  // namespace netkeep
