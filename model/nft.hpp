// The nftables objects netkeep owns, as values. Rules are compared by what
// the kernel holds — expression names and their attributes as libnftnl
// parses them from the kernel's dump — never by a text rendering.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netkeep {

enum class NftFamily : uint8_t { inet = 1, ip = 2, ip6 = 10 };  // NFPROTO_*

const char* family_name(NftFamily f);  // "ip", "ip6", "inet"

// One expression attribute: libnftnl's attribute number and its value bytes
// (u32 attributes in host order, data attributes as the kernel holds them).
struct NftAttr {
  uint16_t type = 0;
  std::string value;
  auto operator<=>(const NftAttr&) const = default;
};

struct NftExpr {
  std::string name;            // "payload", "cmp", "nat", ...
  std::vector<NftAttr> attrs;  // sorted by type
  auto operator<=>(const NftExpr&) const = default;
};

using RuleBody = std::vector<NftExpr>;

// A hash of what a rule is (names and attributes), for matching thousands
// of rules without comparing their long shared prefixes again and again.
uint64_t hash_of(const RuleBody& body);

struct NftRule {
  RuleBody body;
  uint64_t handle = 0;  // the kernel's; 0 for a rule not yet added
  std::string text;     // nft syntax, for people; not compared
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

struct NftTable {
  NftFamily family = NftFamily::ip;
  std::string name;
  auto operator<=>(const NftTable&) const = default;
};

// The owned objects as they are (a snapshot) or as they should be.
struct NftState {
  std::vector<NftTable> tables;      // every table of the families netkeep uses
  std::vector<NftChain> chains;      // owned chains only
  std::vector<NftCounter> counters;  // owned counters only

  const NftChain* chain(NftFamily f, std::string_view table, std::string_view name) const;
  const NftCounter* counter(NftFamily f, std::string_view table, std::string_view name) const;
  bool has_table(NftFamily f, std::string_view name) const;
};

bool operator==(const NftRule& a, const NftRule& b);  // body only
bool operator==(const NftChain& a, const NftChain& b);
bool operator==(const NftCounter& a, const NftCounter& b);  // identity only
bool operator==(const NftState& a, const NftState& b);

}  // namespace netkeep
