#include "backends/nft_kernel.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "backends/nft_codec.hpp"
#include "backends/nft_keyset_codec.hpp"
#include "backends/nft_ops_batch.hpp"
#include "backends/nft_stamp.hpp"
#include "reconciler/nft_apply.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"

namespace netkeep {

namespace {

// A stable order, independent of the kernel's.
void sort(NftState& s) {
  auto order = [](const auto& a, const auto& b) {
    return std::tie(a.family, a.table, a.name) < std::tie(b.family, b.table, b.name);
  };
  auto same = [](const auto& a, const auto& b) {
    return std::tie(a.family, a.table, a.name) == std::tie(b.family, b.table, b.name);
  };
  // A dump interrupted by another program's change may list an object
  // twice (the kernel resumes by index); one of each is kept.
  auto sort_unique = [&](auto& v) {
    std::stable_sort(v.begin(), v.end(), order);
    v.erase(std::unique(v.begin(), v.end(), same), v.end());
  };
  sort_unique(s.chains);
  sort_unique(s.counters);
  sort_unique(s.maps);
  sort_unique(s.keysets);
  std::sort(s.tables.begin(), s.tables.end());
  s.tables.erase(std::unique(s.tables.begin(), s.tables.end()), s.tables.end());
}

}  // namespace

KernelResult<std::unique_ptr<NftKernel>> NftKernel::open() {
  auto s = nl::Socket::open(NETLINK_NETFILTER);
  if (!s) return unexpected(s.error());
  return std::unique_ptr<NftKernel>(new NftKernel(std::move(*s)));
}

KernelResult<uint32_t> NftKernel::generation() {
  auto m = nft::request_gen();
  std::optional<uint32_t> id;
  if (auto e = sock_->get(m.hdr(), [&](const nlmsghdr* nlh) { id = nft::decode_gen(nlh); }))
    return unexpected(*e);
  if (!id)
    return unexpected(KernelError{EBADMSG, "no ruleset generation in the kernel's reply",
                                  "reading the ruleset generation"});
  return *id;
}

std::optional<KernelError> NftKernel::snapshot(NftState& out) {
  // One attempt: the caller retries, so retries never nest.
  raced_.reset();
  planned_gen_.reset();
  auto gen = generation();
  if (!gen) return gen.error();
  const uint32_t before = *gen;
  if (view_ && view_->gen == before && verify_stamp_) {
    auto stamp = read_stamp();
    if (!stamp) return stamp.error();
    if (*stamp != view_->stamp) view_.reset();  // another namespace's, or an older one
    verify_stamp_ = false;
  }
  if (view_ && view_->gen != before && events_) {
    // Other programs committed since the events were read last: if none
    // of those commits touched an owned object, the view still holds.
    NftView v = std::move(*view_);
    view_.reset();
    const uint32_t was = v.gen;
    return raced(std::move(v), was, before);
  }
  from_view_ = view_ && view_->gen == before;
  if (from_view_) {
    out = view_->state;
    planned_gen_ = before;
    return std::nullopt;
  }
  view_.reset();
  full_dumps_++;
  NftState s;
  auto e = snapshot_once(s);
  if (e && e->code != EAGAIN) return e;
  gen = generation();
  if (!gen) return gen.error();
  const uint32_t after = *gen;
  if (e || before != after) {
    // Another program committed meanwhile. Under a steady stream of
    // foreign commits a dump of 10,000 forwardings would never come out
    // consistent: what the follower of the events can vouch for stands.
    if (events_) return raced(NftView{after, std::move(s), dumped_stamp_}, before, after);
    return KernelError{EAGAIN, "the nftables ruleset changed while it was dumped"};
  }
  view_ = NftView{after, s, dumped_stamp_};
  out = std::move(s);
  planned_gen_ = after;
  return std::nullopt;
}

KernelError NftKernel::raced(NftView read, uint32_t before, uint32_t after) {
  raced_ = std::move(read);
  KernelError e{EAGAIN,
                fmt::format("the nftables ruleset changed while it was read (generation {} to {})",
                            before, after)};
  e.race = NftRace{before, after};
  return e;
}

void NftKernel::accept_race() {
  if (!raced_) return;
  view_ = std::move(raced_);
  raced_.reset();
  verify_stamp_ = false;
}

std::optional<KernelError> NftKernel::snapshot_once(NftState& s) {
  // A dump interrupted by a concurrent change (EAGAIN) is read to its end
  // all the same, and so are the others: the caller decides, from the
  // events, whether what was read holds.
  bool interrupted = false;
  auto failed = [&](std::optional<KernelError> e) {
    if (e && e->code == EAGAIN) {
      interrupted = true;
      return false;
    }
    return e.has_value();
  };
  std::optional<KernelError> e;
  auto m = nft::dump_tables();
  if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto t = nft::decode_table(nlh); t && nft_owned_table(t->family, t->name))
          s.tables.push_back(*t);
      })))
    return e;
  m = nft::dump_chains();
  dumped_stamp_.clear();
  if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto c = nft::decode_chain(nlh); c && nft_owned_chain(c->family, c->table, c->name))
          s.chains.push_back(std::move(*c));
        else if (auto stamp = nft::decode_stamp(nlh))
          dumped_stamp_ = std::move(*stamp);
      })))
    return e;
  m = nft::dump_objects();
  if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto c = nft::decode_counter(nlh); c && nft_owned_counter(c->family, c->table, c->name))
          s.counters.push_back(*c);
      })))
    return e;
  m = nft::dump_sets();
  std::vector<std::string> interval;  // the maps with flags interval, by name
  if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto set = nft::decode_set(nlh);
            set && nft_owned_map(set->family, set->table, set->name)) {
          s.maps.push_back({set->family, set->table, set->name, set->typed, {}, set->kind});
          if (set->interval) interval.push_back(set->table + ' ' + set->name);
        } else if (auto k = nft::decode_keyset(nlh)) {
          s.keysets.push_back(std::move(*k));
        }
      })))
    return e;
  sort(s);
  // A map of another type (an earlier netkeep's) is read as what it is:
  // its counters carry over when it is made again.
  for (auto& map : s.maps)
    if (failed(e = read_elems(map, std::find(interval.begin(), interval.end(),
                                             map.table + ' ' + map.name) != interval.end())))
      return e;
  for (auto& k : s.keysets) {
    m = nft::dump_elems(k.family, k.table, k.name);
    if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
          nft::decode_key_elems(nlh, k.family, k.table, k.name, k.elems);
        })))
      return e;
    std::sort(k.elems.begin(), k.elems.end(),
              [](const NftKeyElem& a, const NftKeyElem& b) { return a.key < b.key; });
  }
  for (auto& chain : s.chains) {
    m = nft::dump_rules(chain.family, chain.table, chain.name);
    if (failed(e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
          auto r = nft::decode_rule(nlh);
          // The kernel filters by table and chain; checked again all the same.
          if (r && r->family == chain.family && r->table == chain.table && r->chain == chain.name)
            chain.rules.push_back(std::move(r->rule));
        })))
      return e;
  }
  if (interrupted) return KernelError{EAGAIN, "dump interrupted by a concurrent change"};
  return std::nullopt;
}

KernelResult<std::string> NftKernel::read_stamp() {
  std::string stamp;
  auto m = nft::request_stamp();
  auto e = sock_->get(m.hdr(), [&](const nlmsghdr* nlh) {
    if (auto s = nft::decode_stamp(nlh)) stamp = std::move(*s);
  });
  if (e && e->code != ENOENT) return unexpected(*e);  // ENOENT: no stamp chain (or table) yet
  return stamp;
}

std::optional<KernelError> NftKernel::read_elems(NftMap& map, bool interval) {
  std::vector<nft::RawElem> raw;
  auto m = nft::dump_elems(map.family, map.table, map.name);
  if (auto e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        nft::decode_elems(nlh, map.family, map.table, map.name, raw);
      }))
    return e;
  map.elems = nft::intervals_of(std::move(raw), interval);
  return std::nullopt;
}

KernelResult<std::vector<NftMap>> NftKernel::read_forwarding_counters() {
  std::vector<NftMap> out;
  for (uint8_t proto : {6, 17})
    for (FwdShape shape : kFwdShapes) {
      const bool ranges = shape != FwdShape::port;
      NftMap map{NftFamily::ip, "nat", forwarding_map(proto, shape), true, {}};
      NftMap count{NftFamily::ip, kCountTable, count_set(proto, shape),
                   true,          {},          NftMapKind::count};
      for (NftMap* m : {&map, &count}) {
        if (auto e = read_elems(*m, ranges)) {
          if (e->code == ENOENT) continue;  // no such map yet
          return unexpected(*e);
        }
        out.push_back(std::move(*m));
      }
    }
  return out;
}

KernelResult<std::vector<NftKeySet>> NftKernel::read_pinhole_counters() {
  std::vector<NftKeySet> out;
  for (NftFamily f : {NftFamily::ip, NftFamily::ip6}) {
    NftKeySet k{f, kProtectTable, kPinholeSet, true, {}};
    auto m = nft::dump_elems(k.family, k.table, k.name);
    if (auto e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
          nft::decode_key_elems(nlh, k.family, k.table, k.name, k.elems);
        })) {
      if (e->code == ENOENT) continue;  // protection is off
      return unexpected(*e);
    }
    out.push_back(std::move(k));
  }
  return out;
}

KernelResult<std::vector<ForeignChain>> NftKernel::read_foreign_chains() {
  std::vector<ForeignChain> out;
  auto foreign = [](NftFamily f, std::string_view table, std::string_view name) {
    return (f == NftFamily::ip || f == NftFamily::inet) && !nft_owned_chain(f, table, name);
  };
  auto m = nft::dump_chains();
  if (auto e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto c = nft::decode_chain(nlh); c && foreign(c->family, c->table, c->name))
          out.push_back({c->family, c->table, c->name, c->base, {}});
      }))
    return unexpected(*e);
  m = nft::dump_all_rules();
  if (auto e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        auto r = nft::decode_rule(nlh);
        if (!r) return;
        for (auto& c : out)
          if (c.family == r->family && c.table == r->table && c.name == r->chain)
            c.rules.push_back(r->rule.body);
      }))
    return unexpected(*e);
  return out;
}

KernelResult<std::vector<NftCounter>> NftKernel::read_counters() {
  std::vector<NftCounter> out;
  auto m = nft::dump_objects();
  if (auto e = sock_->dump(m.hdr(), [&](const nlmsghdr* nlh) {
        if (auto c = nft::decode_counter(nlh); c && nft_owned_counter(c->family, c->table, c->name))
          out.push_back(*c);
      }))
    return unexpected(*e);
  return out;
}

std::vector<NftError> NftKernel::send(const std::vector<const Op*>& ops, bool commit) {
  if (ops.empty()) return {};
  // Whether the stamp chain exists is what the snapshot showed.
  const bool stamp_exists = view_ ? !view_->stamp.empty() : !dumped_stamp_.empty();
  const bool track = commit && view_ && ops.size() <= kViewOps;
  nft::Batch batch;
  const uint32_t first = ++seq_;
  // Tied to the generation the ops were planned from: a batch planned on a
  // state another transaction has since changed is refused whole.
  nft::encode_batch_begin(first, batch, commit ? planned_gen_ : std::nullopt);
  const nft::Units units = nft::encode_ops(ops, first, track, batch);
  // Every commit renews the stamp (nft_stamp.hpp), last in the batch, so a
  // view kept in a file can be checked against the kernel in one request.
  const uint32_t stamp_seq = first + 1 + static_cast<uint32_t>(units.size());
  std::string stamp;
  if (commit) {
    stamp = nft::new_stamp();
    nft::encode_stamp(stamp, stamp_exists, stamp_seq, batch);
    nft::encode_batch_end(stamp_seq + 1, batch);
  }
  seq_ += static_cast<uint32_t>(units.size()) + 2;

  auto index_of = [&](uint32_t seq, uint32_t bad_attr = 0) {
    return nft::op_of_error(units, first, batch, seq, bad_attr);
  };
  std::vector<NftError> errors;
  auto on_error = [&](uint32_t seq, const KernelError& e) {
    if (seq == first && e.code == ERESTART) {
      errors.push_back({NftError::npos,
                        {ERESTART,
                         "the ruleset changed since it was read (another program "
                         "committed meanwhile): nothing was applied"},
                        true});
      return;
    }
    if (commit && seq == stamp_seq) {
      // The stamp chain was not as the snapshot showed (someone deleted
      // it, say): the batch was refused whole; planned again from a dump.
      errors.push_back(
          {NftError::npos,
           {e.code, fmt::format("the view's stamp chain ip {} {} was not as read ({}); "
                                "nothing was applied, the ruleset is read again",
                                kCountTable, nft::kStampChain, e.message)},
           true});
      return;
    }
    errors.push_back({index_of(seq, e.bad_attr), e});
  };
  std::vector<uint64_t> handles(ops.size(), 0);  // of new rules, from their echoes
  auto on_echo = [&](const nlmsghdr* nlh) {
    size_t i = index_of(nlh->nlmsg_seq);
    if (i == NftError::npos || !std::holds_alternative<NftRuleAdd>(*ops[i])) return;
    if (auto r = nft::decode_rule(nlh)) handles[i] = r->rule.handle;
  };
  // The kernel announces a commit's changes to the event group while
  // committing: the follower's socket must have room for them by then
  // (event bytes, as the socket's buffer accounting counts them, per byte
  // of the batch: 8, with margin).
  if (commit && events_) events_->reserve((4 << 20) + 8 * batch.size());
  if (auto e = sock_->send_batch(batch.iovecs(), on_error, on_echo))
    errors.push_back(NftError{NftError::npos, *e});
  sent_ += batch.messages();
  batches_++;
  if (commit) after_commit(ops, handles, stamp, track, errors);
  return errors;
}

void NftKernel::after_commit(const std::vector<const Op*>& ops,
                             const std::vector<uint64_t>& handles, const std::string& stamp,
                             bool track, std::vector<NftError>& errors) {
  planned_gen_.reset();  // one batch per snapshot
  if (errors.empty()) {
    if (track)
      update_view(ops, handles, stamp);
    else
      view_.reset();
    return;
  }
  // Refused, or the answer lost: the view goes either way. A refused batch
  // commits nothing, but it may have been refused because the view was
  // wrong (a handle that is gone, say: it is a cache, and a cache can be
  // wrong); planned from the view, it is planned again from a full dump
  // (stale), so a wrong view never makes every apply fail.
  const bool refused = std::none_of(errors.begin(), errors.end(),
                                    [](const NftError& e) { return e.index == NftError::npos; });
  if (refused && from_view_)
    errors.push_back({NftError::npos,
                      {errors.front().error.code,
                       "the kernel refused a batch planned from the kept view of the "
                       "ruleset; it is read again in full"},
                      true});
  view_.reset();
}

void NftKernel::update_view(const std::vector<const Op*>& ops, const std::vector<uint64_t>& handles,
                            const std::string& stamp) {
  auto gen = generation();
  if (!gen || *gen != view_->gen + 1) {
    view_.reset();  // another program committed too: its changes are unknown
    return;
  }
  for (size_t i = 0; i < ops.size(); i++) {
    const bool add = std::holds_alternative<NftRuleAdd>(*ops[i]);
    if ((add && !handles[i]) || apply_nft_op(view_->state, *ops[i], handles[i])) {
      view_.reset();
      return;
    }
  }
  sort(view_->state);
  view_->gen = *gen;
  view_->stamp = stamp;
}

void NftKernel::view_passed(uint32_t gen) {
  for (auto* v : {&view_, &raced_})
    if (*v && gen == (*v)->gen + 1) (*v)->gen = gen;
}

}  // namespace netkeep
