#include "model/nft_rule_facts.hpp"

#include <cstring>
#include <map>

#include "model/nft.hpp"

namespace netkeep {

namespace {

// linux/netfilter/nf_tables.h, written out as model/nft.hpp does.
constexpr uint16_t kMetaDreg = 1, kMetaKey = 2;
constexpr uint32_t kMetaL4proto = 16;
constexpr uint16_t kPayloadDreg = 1, kPayloadBase = 2, kPayloadOffset = 3, kPayloadLen = 4;
constexpr uint32_t kNetworkHeader = 1, kTransportHeader = 2;
constexpr uint16_t kCmpSreg = 1, kCmpOp = 2, kCmpData = 3;
constexpr uint32_t kCmpEq = 0;
constexpr uint16_t kRangeSreg = 1, kRangeOp = 2, kRangeFrom = 3, kRangeTo = 4;
constexpr uint16_t kNatType = 1;
constexpr uint32_t kNatDnat = 1;
constexpr uint16_t kImmediateDreg = 1, kImmediateData = 2;
constexpr int32_t kDrop = 0, kAccept = 1, kJump = -3, kGoto = -4;

// The value of an NFTA_DATA_VALUE nested in `data`.
std::string_view data_value(std::string_view data) {
  uint16_t type;
  std::string_view a;
  while (nla_next(data, type, a))
    if (type == kDataValue) return a;
  return {};
}

enum class Holds { l4proto, dport };

}  // namespace

RuleFacts rule_facts(std::string_view body) {
  RuleFacts f;
  std::map<uint32_t, Holds> regs;  // what each register was loaded with
  for_each_expr(body, [&](std::string_view name, std::string_view data) {
    std::map<uint16_t, std::string_view> at;
    uint16_t type;
    std::string_view a;
    while (nla_next(data, type, a)) at[type] = a;
    if (name == "meta" && at.count(kMetaDreg) && be32_of(at[kMetaKey]) == kMetaL4proto) {
      regs[be32_of(at[kMetaDreg])] = Holds::l4proto;
    } else if (name == "payload" && at.count(kPayloadDreg)) {
      const uint32_t base = be32_of(at[kPayloadBase]), off = be32_of(at[kPayloadOffset]),
                     len = be32_of(at[kPayloadLen]);
      const uint32_t reg = be32_of(at[kPayloadDreg]);
      if (base == kNetworkHeader && off == 9 && len == 1)  // ip protocol
        regs[reg] = Holds::l4proto;
      else if (base == kTransportHeader && off == 2 && len == 2)  // th dport
        regs[reg] = Holds::dport;
      else
        regs.erase(reg);
    } else if (name == "cmp" && be32_of(at[kCmpOp]) == kCmpEq) {
      auto r = regs.find(be32_of(at[kCmpSreg]));
      std::string_view v = data_value(at[kCmpData]);
      if (r != regs.end() && r->second == Holds::l4proto && v.size() == 1)
        f.l4proto = static_cast<uint8_t>(v[0]);
      if (r != regs.end() && r->second == Holds::dport && v.size() == 2)
        f.dport_first = f.dport_last =
            static_cast<uint16_t>((static_cast<uint8_t>(v[0]) << 8) | static_cast<uint8_t>(v[1]));
    } else if (name == "range" && be32_of(at[kRangeOp]) == kCmpEq) {
      auto r = regs.find(be32_of(at[kRangeSreg]));
      std::string_view from = data_value(at[kRangeFrom]), to = data_value(at[kRangeTo]);
      auto port = [](std::string_view v) {
        return static_cast<uint16_t>((static_cast<uint8_t>(v[0]) << 8) |
                                     static_cast<uint8_t>(v[1]));
      };
      if (r != regs.end() && r->second == Holds::dport && from.size() == 2 && to.size() == 2) {
        f.dport_first = port(from);
        f.dport_last = port(to);
      }
    } else if (name == "nat") {
      f.dnat |= be32_of(at[kNatType]) == kNatDnat;
    } else if (name == "redir") {
      f.redirect = true;
    } else if (name == "immediate" && at.count(kImmediateDreg) &&
               be32_of(at[kImmediateDreg]) == 0) {  // the verdict register
      uint16_t t;
      std::string_view verdict, v;
      std::string_view d = at[kImmediateData];
      while (nla_next(d, t, v))
        if (t == kDataVerdict) verdict = v;
      int32_t code = 1;
      std::string chain;
      while (nla_next(verdict, t, v)) {
        if (t == kVerdictCode) code = static_cast<int32_t>(be32_of(v));
        if (t == kVerdictChain) chain = std::string(v.substr(0, v.find('\0')));
      }
      f.drop |= code == kDrop;
      f.accept |= code == kAccept;
      if (code == kJump || code == kGoto) f.jump = chain;
    }
  });
  return f;
}

}  // namespace netkeep
