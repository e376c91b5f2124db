#include "model/nft.hpp"

#include <functional>
#include <string_view>

namespace netkeep {

const char* family_name(NftFamily f) {
  switch (f) {
    case NftFamily::inet:
      return "inet";
    case NftFamily::ip:
      return "ip";
    case NftFamily::ip6:
      return "ip6";
  }
  return "?";
}

const NftChain* NftState::chain(NftFamily f, std::string_view table, std::string_view name) const {
  for (const auto& c : chains)
    if (c.family == f && c.table == table && c.name == name) return &c;
  return nullptr;
}

const NftCounter* NftState::counter(NftFamily f, std::string_view table,
                                    std::string_view name) const {
  for (const auto& c : counters)
    if (c.family == f && c.table == table && c.name == name) return &c;
  return nullptr;
}

bool NftState::has_table(NftFamily f, std::string_view name) const {
  for (const auto& t : tables)
    if (t.family == f && t.name == name) return true;
  return false;
}

uint64_t hash_of(const RuleBody& body) {
  uint64_t h = 0;
  auto mix = [&](uint64_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
  for (const auto& e : body) {
    mix(std::hash<std::string_view>{}(e.name));
    for (const auto& a : e.attrs) {
      mix(a.type);
      mix(std::hash<std::string_view>{}(a.value));
    }
  }
  return h;
}

bool operator==(const NftRule& a, const NftRule& b) {
  return a.body == b.body;
}

bool operator==(const NftChain& a, const NftChain& b) {
  return a.family == b.family && a.table == b.table && a.name == b.name && a.base == b.base &&
         a.rules == b.rules;
}

bool operator==(const NftCounter& a, const NftCounter& b) {
  return a.family == b.family && a.table == b.table && a.name == b.name;
}

bool operator==(const NftState& a, const NftState& b) {
  return a.tables == b.tables && a.chains == b.chains && a.counters == b.counters;
}

}  // namespace netkeep
