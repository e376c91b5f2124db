#include "model/nft.hpp"

#include <algorithm>
#include <cstring>
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

const NftMap* NftState::map(NftFamily f, std::string_view table, std::string_view name) const {
  for (const auto& m : maps)
    if (m.family == f && m.table == table && m.name == name) return &m;
  return nullptr;
}

const NftKeySet* NftState::keyset(NftFamily f, std::string_view table,
                                  std::string_view name) const {
  for (const auto& k : keysets)
    if (k.family == f && k.table == table && k.name == name) return &k;
  return nullptr;
}

const NftMapElem* find_interval(const std::vector<NftMapElem>& elems, uint16_t first,
                                uint16_t last) {
  auto it = std::lower_bound(elems.begin(), elems.end(), first,
                             [](const NftMapElem& x, uint16_t f) { return x.first < f; });
  return it != elems.end() && it->first == first && it->last == last ? &*it : nullptr;
}

bool NftState::has_table(NftFamily f, std::string_view name) const {
  for (const auto& t : tables)
    if (t.family == f && t.name == name) return true;
  return false;
}

size_t ExprWriter::open(uint16_t type) {
  size_t at = len_;
  put(type, nullptr, 0);
  return at;
}

void ExprWriter::close(size_t at) {
  auto len = static_cast<uint16_t>(len_ - at);
  std::memcpy(out_.data() + at, &len, 2);
}

ExprWriter& ExprWriter::begin(std::string_view name) {
  elem_ = open(kListElem);
  str(kExprName, name);
  data_ = open(kExprData);
  return *this;
}

ExprWriter& ExprWriter::u8(uint16_t type, uint8_t v) {
  put(type, &v, 1);
  return *this;
}

ExprWriter& ExprWriter::str(uint16_t type, std::string_view s) {
  put(type, s.data(), s.size(), 1);
  return *this;
}

ExprWriter& ExprWriter::data(uint16_t type, std::string_view value) {
  size_t at = open(type);
  put(kDataValue, value.data(), value.size());
  close(at);
  return *this;
}

ExprWriter& ExprWriter::verdict(uint16_t type, int32_t code, std::string_view chain) {
  size_t at = open(type);
  size_t v = open(kDataVerdict);
  be32(kVerdictCode, static_cast<uint32_t>(code));
  if (!chain.empty()) str(kVerdictChain, chain);
  close(v);
  close(at);
  return *this;
}

ExprWriter& ExprWriter::raw(uint16_t type, std::string_view payload) {
  put(type, payload.data(), payload.size());
  return *this;
}

ExprWriter& ExprWriter::end() {
  close(data_);
  close(elem_);
  return *this;
}

std::vector<NftExpr> decode_exprs(std::string_view body) {
  std::vector<NftExpr> out;
  for_each_expr(body, [&](std::string_view name, std::string_view data) {
    NftExpr e{std::string(name), {}};
    uint16_t type;
    std::string_view v;
    while (nla_next(data, type, v)) e.attrs.push_back({type, std::string(v)});
    out.push_back(std::move(e));
  });
  return out;
}

std::optional<std::string_view> nested_attr(std::string_view payload, uint16_t type) {
  uint16_t t;
  std::string_view v;
  while (nla_next(payload, t, v))
    if (t == type) return v;
  return std::nullopt;
}

RuleBody encode_exprs(const std::vector<NftExpr>& exprs) {
  ExprWriter w;
  for (const auto& e : exprs) {
    w.begin(e.name);
    for (const auto& a : e.attrs) w.raw(a.type, a.value);
    w.end();
  }
  return w.take();
}

// Four independent lanes of eight bytes, multiplied and folded: rules
// differ in a few bytes of long shared prefixes, and hashing 20,000 rules
// of 700 bytes must take a fraction of a millisecond, not several.
uint64_t hash_of(const RuleBody& body) {
  constexpr uint64_t k = 0x9e3779b97f4a7c15ull;
  auto word = [](const char* at) {
    uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
  };
  uint64_t a = body.size(), b = k, c = k << 1, d = k >> 1;
  const char* p = body.data();
  size_t n = body.size();
  for (; n >= 32; p += 32, n -= 32) {
    a = (a ^ word(p)) * k;
    b = (b ^ word(p + 8)) * k;
    c = (c ^ word(p + 16)) * k;
    d = (d ^ word(p + 24)) * k;
  }
  char tail[32] = {};
  std::memcpy(tail, p, n);
  a = (a ^ word(tail)) * k;
  b = (b ^ word(tail + 8)) * k;
  c = (c ^ word(tail + 16)) * k;
  d = (d ^ word(tail + 24)) * k;
  uint64_t h = a ^ (b >> 17 | b << 47) ^ (c >> 31 | c << 33) ^ (d >> 47 | d << 17);
  h = (h ^ h >> 32) * 0xff51afd7ed558ccdull;
  return h ^ h >> 29;
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

bool operator==(const NftMapElem& a, const NftMapElem& b) {
  return a.same(b);
}

bool operator==(const NftMap& a, const NftMap& b) {
  return a.family == b.family && a.table == b.table && a.name == b.name && a.typed == b.typed &&
         a.elems == b.elems && a.kind == b.kind;
}

bool operator==(const NftState& a, const NftState& b) {
  return a.tables == b.tables && a.chains == b.chains && a.counters == b.counters &&
         a.maps == b.maps && a.keysets == b.keysets;
}

}  // namespace netkeep
