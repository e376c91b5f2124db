// The nftables objects netkeep owns, as values. Rules are compared by what
// the kernel holds — the bytes of their expressions as the kernel dumps
// them — never by a text rendering.
#pragma once

#include <endian.h>

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netkeep {

enum class NftFamily : uint8_t { inet = 1, ip = 2, ip6 = 10 };  // NFPROTO_*

const char* family_name(NftFamily f);  // "ip", "ip6", "inet"

// A rule is what the kernel holds: the payload of its NFTA_RULE_EXPRESSIONS
// attribute, byte for byte as the kernel dumps it (a list of NFTA_LIST_ELEM,
// each an NFTA_EXPR_NAME and an NFTA_EXPR_DATA). Desired rules are written in
// that same form (ExprWriter), so comparing and hashing rules is comparing and
// hashing bytes, a dump is decoded by copying, and a rule is sent as it is.
//
// The bytes are immutable and shared: copying a snapshot of 10,000 rules,
// or reusing the rules built for the last reconcile, copies pointers.
class RuleBody {
 public:
  RuleBody() = default;
  RuleBody(std::string_view bytes)
      : rep_(bytes.empty() ? nullptr : std::make_shared<const std::string>(bytes)) {}
  RuleBody(const char* bytes, size_t n) : RuleBody(std::string_view(bytes, n)) {}

  std::string_view view() const { return rep_ ? std::string_view(*rep_) : ""; }
  operator std::string_view() const { return view(); }
  const char* data() const { return view().data(); }
  size_t size() const { return view().size(); }
  bool empty() const { return size() == 0; }
  size_t find(std::string_view s) const { return view().find(s); }
  bool shares(const RuleBody& o) const { return rep_ == o.rep_; }  // the same bytes object
  friend bool operator==(const RuleBody& a, const RuleBody& b) {
    return a.rep_ == b.rep_ || a.view() == b.view();
  }

 private:
  std::shared_ptr<const std::string> rep_;
};

// A view of a rule's expressions for people and for JSON: each attribute of
// an expression's NFTA_EXPR_DATA, by its kernel number (NFTA_PAYLOAD_DREG,
// ...), with its payload bytes as on the wire, in wire order.
struct NftAttr {
  uint16_t type = 0;
  std::string value;
  bool operator==(const NftAttr&) const = default;
};

struct NftExpr {
  std::string name;            // "payload", "cmp", "nat", ...
  std::vector<NftAttr> attrs;  // in the order the kernel dumps them
  bool operator==(const NftExpr&) const = default;
};

// One netlink attribute at the front of `in`: its type (without the
// NLA_F_* flags) and payload; `in` moves past it. False at the end or on
// a malformed attribute. (An attribute is a 4-byte header, its length
// including the header and its type, then the payload, zero-padded to 4.)
// Inline: rendering and hashing thousands of rules walks every attribute.
// A big-endian u32 attribute payload (registers, keys, operators, verdict
// codes), as the kernel sends them; a shorter payload reads as its bytes.
inline uint32_t be32_of(std::string_view v) {
  uint32_t x = 0;
  for (size_t i = 0; i < 4 && i < v.size(); i++) x = x << 8 | static_cast<unsigned char>(v[i]);
  return x;
}

inline bool nla_next(std::string_view& in, uint16_t& type, std::string_view& payload) {
  if (in.size() < 4) return false;
  uint16_t len, t;
  std::memcpy(&len, in.data(), 2);
  std::memcpy(&t, in.data() + 2, 2);
  if (len < 4 || len > in.size()) return false;
  type = t & 0x3fff;  // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
  payload = in.substr(4, len - 4);
  in.remove_prefix(std::min<size_t>(in.size(), (len + 3u) & ~3u));
  return true;
}

// Attribute numbers from linux/netfilter/nf_tables.h and linux/netlink.h,
// written out so the model needs no kernel or netlink headers.
constexpr uint16_t kListElem = 1;                        // NFTA_LIST_ELEM
constexpr uint16_t kExprName = 1, kExprData = 2;         // NFTA_EXPR_NAME, NFTA_EXPR_DATA
constexpr uint16_t kDataValue = 1, kDataVerdict = 2;     // NFTA_DATA_VALUE, NFTA_DATA_VERDICT
constexpr uint16_t kVerdictCode = 1, kVerdictChain = 2;  // NFTA_VERDICT_CODE, _CHAIN

// Calls f(name, data) for each expression of a rule: its NFTA_EXPR_NAME
// without the NUL and the payload of its NFTA_EXPR_DATA (the attributes).
// A malformed tail ends the walk.
template <class F>
void for_each_expr(std::string_view body, F f) {
  uint16_t type;
  std::string_view elem, a;
  while (nla_next(body, type, elem)) {
    if (type != kListElem) continue;
    std::string_view name, data;
    while (nla_next(elem, type, a)) {
      if (type == kExprName) name = a.substr(0, a.find('\0'));
      if (type == kExprData) data = a;
    }
    f(name, data);
  }
}

std::vector<NftExpr> decode_exprs(std::string_view body);  // malformed tails are dropped
RuleBody encode_exprs(const std::vector<NftExpr>& exprs);
// The payload of attribute `type` inside a nested attribute's payload, or
// nullopt: e.g. NFTA_DATA_VALUE inside NFTA_CMP_DATA.
std::optional<std::string_view> nested_attr(std::string_view payload, uint16_t type);

// Writes expressions in the kernel's dump encoding, one rule at a time.
class ExprWriter {
 public:
  ExprWriter() : out_(1024, '\0') {}         // a forwarding rule is about 700 bytes
  ExprWriter& begin(std::string_view name);  // an expression; attributes follow
  ExprWriter& be32(uint16_t type, uint32_t v) {
    const uint32_t be = htobe32(v);
    put(type, &be, 4);
    return *this;
  }
  ExprWriter& u8(uint16_t type, uint8_t v);
  ExprWriter& str(uint16_t type, std::string_view s);       // NUL-terminated
  ExprWriter& data(uint16_t type, std::string_view value);  // NFTA_DATA_VALUE inside
  ExprWriter& verdict(uint16_t type, int32_t code,
                      std::string_view chain = {});          // NFTA_DATA_VERDICT
  ExprWriter& raw(uint16_t type, std::string_view payload);  // any attribute, as it is
  ExprWriter& end();                                         // closes the expression
  RuleBody take() {  // exactly sized: thousands of rules are kept at once
    RuleBody r(out_.data(), len_);
    std::fill_n(out_.begin(), len_, '\0');  // zeros beyond len_ again
    len_ = 0;
    return r;
  }

 private:
  size_t open(uint16_t type);
  void close(size_t at);
  // An attribute whose payload is `n` bytes from `p`, then `zeros` NUL bytes.
  void put(uint16_t type, const void* p, size_t n, size_t zeros = 0) {
    const auto len = static_cast<uint16_t>(4 + n + zeros);
    char* at = grow((len + 3u) & ~3u);
    std::memcpy(at, &len, 2);
    std::memcpy(at + 2, &type, 2);
    if (n) std::memcpy(at + 4, p, n);
  }
  // `n` more bytes at the end, zero-filled (the buffer only ever grows, and
  // what resize() adds is zeros, so padding needs no writing).
  char* grow(size_t n) {
    if (len_ + n > out_.size()) out_.resize(std::max(out_.size() * 2, len_ + n));
    char* at = out_.data() + len_;
    len_ += n;
    return at;
  }
  std::string out_;  // zeros beyond len_
  size_t len_ = 0;
  size_t elem_ = 0, data_ = 0;
};

// A hash of a rule's bytes, for matching thousands of rules at once.
uint64_t hash_of(const RuleBody& body);

struct NftRule {
  RuleBody body;
  uint64_t handle = 0;  // the kernel's; 0 for a rule not yet added
};

struct BaseChain {
  std::string type;   // "filter", "nat"
  uint32_t hook = 0;  // NF_INET_*
  int32_t priority = 0;
  uint32_t policy = 1;  // NF_ACCEPT
  auto operator<=>(const BaseChain&) const = default;
};

struct NftChain {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::optional<BaseChain> base;  // none: a regular chain
  std::vector<NftRule> rules;
};

struct NftCounter {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  uint64_t packets = 0, bytes = 0;  // read for metrics; never compared
};

// A forwarding map: destination port intervals (the key) to a DNAT target,
// address and port range (the data), each element with its own counter.
// Each map's type is fixed by its name (reconciler/nft_desired.hpp: a port
// or port interval to an address and a port, or a port interval to an
// address and a port range), so only elements vary.
struct NftMapElem {
  uint16_t first = 0, last = 0;        // the key interval
  std::array<uint8_t, 4> addr{};       // the DNAT address, network order
  uint16_t to_first = 0, to_last = 0;  // the DNAT port range (equal: one port)
  uint64_t packets = 0, bytes = 0;     // the element's counter: read, never compared
  bool same(const NftMapElem& o) const {
    // The address byte by byte: std::array's == is a memcmp call here, and
    // the planner compares 20,000 elements on every reconcile.
    return first == o.first && last == o.last && addr[0] == o.addr[0] && addr[1] == o.addr[1] &&
           addr[2] == o.addr[2] && addr[3] == o.addr[3] && to_first == o.to_first &&
           to_last == o.to_last;
  }
};

// A forwarding map (kind dnat, in ip nat) or the set that counts the
// forwarded connections' traffic (kind count, in netkeep's own table ip
// netkeep: `type inet_service; flags interval; counter`, no data).
enum class NftMapKind : uint8_t { dnat, count };

struct NftMap {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool typed = true;              // has netkeep's key, data, flags and counter (false: recreate it)
  std::vector<NftMapElem> elems;  // sorted by key, disjoint
  NftMapKind kind = NftMapKind::dnat;
  // A desired count set whose keys are those of its forwarding map, left
  // out of `elems` (desired_ruleset's, for the planner: not built twice).
  bool keys_of_map = false;
};

// The element of `elems` (sorted by key, disjoint) whose key interval is
// exactly first..last, or nullptr. A binary search: maps hold thousands.
const NftMapElem* find_interval(const std::vector<NftMapElem>& elems, uint16_t first,
                                uint16_t last);

// A set element's key as the kernel holds it (each field of a
// concatenation padded to 4 bytes; at most 64 bytes, NFT_DATA_VALUE_MAXLEN),
// kept inline: 10,000 pinholes are built, sorted and compared with the
// kernel's at every reconcile, and a heap string each cost an allocation
// and a pointer chase per element. Ordered by its bytes, then its length.
class NftKey {
 public:
  static constexpr size_t kMax = 64;
  NftKey() = default;
  NftKey(std::string_view bytes) { assign(bytes.data(), bytes.size()); }  // NOLINT: bytes are a key
  // Longer than kMax: cut to it (no kernel key is).
  void assign(const void* data, size_t len) {
    size_ = static_cast<uint8_t>(std::min(len, kMax));
    if (size_) std::memcpy(bytes_.data(), data, size_);  // (an empty view's data may be null)
    std::memset(bytes_.data() + size_, 0, kMax - size_);
  }
  void append(const void* data, size_t len) {
    const size_t n = std::min(len, kMax - size_);
    if (n) std::memcpy(bytes_.data() + size_, data, n);
    size_ = static_cast<uint8_t>(size_ + n);
  }
  const char* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  std::string_view view() const { return {bytes_.data(), size_}; }
  // Its first 24 bytes as big-endian words: the key itself, up to its
  // length, for a sort of compact keys.
  uint64_t word(size_t w) const {
    uint64_t x;
    std::memcpy(&x, bytes_.data() + 8 * w, 8);
    return be64toh(x);
  }
  bool operator==(const NftKey& o) const {
    return size_ == o.size_ && word(0) == o.word(0) && word(1) == o.word(1) &&
           word(2) == o.word(2) && (size_ <= 24 || view() == o.view());
  }
  std::strong_ordering operator<=>(const NftKey& o) const {
    // The first 24 bytes (every key of netkeep's sets) as three
    // big-endian words; the bytes past them are zero when absent.
    for (size_t w = 0; w < 3; w++)
      if (word(w) != o.word(w)) return word(w) <=> o.word(w);
    if (size_ > 24 || o.size_ > 24)
      if (int c = std::memcmp(bytes_.data() + 24, o.bytes_.data() + 24, kMax - 24)) return c <=> 0;
    return size_ <=> o.size_;
  }

 private:
  std::array<char, kMax> bytes_{};  // zero past size_
  uint8_t size_ = 0;
};

// A set or verdict map of exact keys: LAN protection's (SPEC §3), whose
// types come with their names (reconciler/nft_protect.hpp). An element is
// its key's bytes as the kernel holds them (each field of a concatenation
// padded to 4 bytes) and, in a verdict map, its verdict.
struct NftKeyElem {
  NftKey key;
  int32_t verdict = 0;              // NF_ACCEPT, NF_DROP: a verdict map's data
  uint64_t packets = 0, bytes = 0;  // its counter: read, never compared
  std::string note;                 // a desired element's origin, for people ("::23")
  bool operator==(const NftKeyElem& o) const { return key == o.key && verdict == o.verdict; }
};

struct NftKeySet {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  bool typed = true;              // of the type its name says (false: recreate it)
  std::vector<NftKeyElem> elems;  // sorted by key, keys unique
  bool operator==(const NftKeySet&) const = default;
};

struct NftTable {
  NftFamily family = NftFamily::ip;
  std::string name;
  auto operator<=>(const NftTable&) const = default;
};

// The owned objects as they are (a snapshot) or as they should be.
struct NftState {
  std::vector<NftTable> tables;      // those of the tables netkeep uses that exist
  std::vector<NftChain> chains;      // owned chains only
  std::vector<NftCounter> counters;  // owned counters only
  std::vector<NftMap> maps;          // owned maps only
  std::vector<NftKeySet> keysets;    // owned sets of exact keys only

  const NftChain* chain(NftFamily f, std::string_view table, std::string_view name) const;
  NftChain* chain(NftFamily f, std::string_view table, std::string_view name) {
    return const_cast<NftChain*>(std::as_const(*this).chain(f, table, name));
  }
  const NftCounter* counter(NftFamily f, std::string_view table, std::string_view name) const;
  bool has_table(NftFamily f, std::string_view name) const;
  const NftMap* map(NftFamily f, std::string_view table, std::string_view name) const;
  NftMap* map(NftFamily f, std::string_view table, std::string_view name) {
    return const_cast<NftMap*>(std::as_const(*this).map(f, table, name));
  }
  const NftKeySet* keyset(NftFamily f, std::string_view table, std::string_view name) const;
  NftKeySet* keyset(NftFamily f, std::string_view table, std::string_view name) {
    return const_cast<NftKeySet*>(std::as_const(*this).keyset(f, table, name));
  }
};

bool operator==(const NftRule& a, const NftRule& b);  // body only
bool operator==(const NftChain& a, const NftChain& b);
bool operator==(const NftCounter& a, const NftCounter& b);  // identity only
bool operator==(const NftMapElem& a, const NftMapElem& b);  // without counters
bool operator==(const NftMap& a, const NftMap& b);
bool operator==(const NftState& a, const NftState& b);

}  // namespace netkeep
