#include "backends/nft_ops_batch.hpp"

#include <sys/uio.h>

#include "backends/nft_codec.hpp"
#include "backends/nft_set_codec.hpp"

namespace netkeep::nft {

namespace {

// How many elements `ops` add to the set each NftMapAdd among them makes
// (by op index; 0 for the other ops): a hash set made in a burst is
// declared as a fixed-size table (encode_map_add).
std::vector<size_t> elems_added(const std::vector<const Op*>& ops) {
  std::vector<size_t> made(ops.size(), 0);
  std::vector<size_t> adds;  // the NftMapAdds' indexes
  for (size_t i = 0; i < ops.size(); i++)
    if (std::holds_alternative<NftMapAdd>(*ops[i])) adds.push_back(i);
  if (adds.empty()) return made;
  for (const Op* op : ops) {
    auto* a = std::get_if<NftForwardAdd>(op);
    auto* e = std::get_if<NftElemAdd>(op);
    if (!a && !e) continue;
    for (size_t i : adds) {
      const auto& m = std::get<NftMapAdd>(*ops[i]);
      if (a && m.kind == NftMapKind::dnat)
        made[i] += m.name == a->map && m.table == a->table;
      else if (a)
        made[i] += m.name == a->count;
      else
        made[i] += m.name == e->set && m.table == e->table;
    }
  }
  return made;
}

// The message of `batch` with sequence number `seq` that adds or deletes
// set elements; nullptr when none has.
const nlmsghdr* elems_message(const Batch& batch, uint32_t seq) {
  for (const iovec& v : batch.iovecs()) {
    const auto* at = static_cast<const char*>(v.iov_base);
    for (size_t off = 0; off + sizeof(nlmsghdr) <= v.iov_len;) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(at + off);
      if (nlh->nlmsg_len < sizeof(nlmsghdr)) break;
      const uint16_t type = nlh->nlmsg_type & 0xff;
      if (nlh->nlmsg_seq == seq && (type == NFT_MSG_NEWSETELEM || type == NFT_MSG_DELSETELEM))
        return nlh;
      off += NLMSG_ALIGN(nlh->nlmsg_len);
    }
  }
  return nullptr;
}

}  // namespace

Units encode_ops(const std::vector<const Op*>& ops, uint32_t first, bool echo_rules, Batch& batch) {
  const std::vector<size_t> made = elems_added(ops);
  Units units;
  auto next_seq = [&] { return first + 1 + static_cast<uint32_t>(units.size()); };
  for (size_t i = 0; i < ops.size();) {
    if (auto* m = std::get_if<NftMapAdd>(ops[i])) {
      encode_map_add(*m, made[i], next_seq(), batch);
      units.push_back({i++});
      continue;
    }
    if (auto* add = std::get_if<NftForwardAdd>(ops[i])) {
      std::vector<const NftForwardAdd*> group{add};
      std::vector<size_t> all{i}, counted;
      if (!add->count.empty()) counted.push_back(i);
      for (i++; i < ops.size() && group.size() < kElemsPerMessage; i++) {
        auto* next = std::get_if<NftForwardAdd>(ops[i]);
        if (!next || next->map != add->map || next->table != add->table ||
            next->family != add->family)
          break;
        group.push_back(next);
        all.push_back(i);
        if (!next->count.empty()) counted.push_back(i);
      }
      const uint32_t seq = next_seq();
      encode_forward_adds(group, seq, batch, counted.empty() ? 0 : seq + 1);
      units.push_back(std::move(all));
      if (!counted.empty()) units.push_back(std::move(counted));
      continue;
    }
    encode_op(*ops[i], next_seq(), batch);
    if (echo_rules && std::holds_alternative<NftRuleAdd>(*ops[i]))
      batch.last()->nlmsg_flags |= NLM_F_ECHO;
    units.push_back({i++});
  }
  return units;
}

size_t op_of_error(const Units& units, uint32_t first, const Batch& batch, uint32_t seq,
                   uint32_t bad_attr) {
  if (seq <= first || seq > first + units.size()) return NftError::npos;
  const std::vector<size_t>& unit = units[seq - first - 1];
  if (unit.size() > 1 && bad_attr)
    if (const nlmsghdr* m = elems_message(batch, seq))
      if (auto k = elem_at(m, bad_attr); k && *k < unit.size()) return unit[*k];
  return unit.front();
}

}  // namespace netkeep::nft
