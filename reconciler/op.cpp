#include "reconciler/op.hpp"

namespace netkeep {

std::string sysctl_dotted(std::string_view slash_key) {
  std::string out(slash_key);
  for (char& c : out) c = c == '/' ? '.' : c == '.' ? '/' : c;
  return out;
}

bool is_nft(const Op& op) {
  return std::holds_alternative<NftTableAdd>(op) || std::holds_alternative<NftCounterAdd>(op) ||
         std::holds_alternative<NftChainAdd>(op) || std::holds_alternative<NftChainDel>(op) ||
         std::holds_alternative<NftRuleAdd>(op) || std::holds_alternative<NftRuleDel>(op) ||
         std::holds_alternative<NftMapAdd>(op) || std::holds_alternative<NftMapDel>(op) ||
         std::holds_alternative<NftForwardAdd>(op) || std::holds_alternative<NftForwardDel>(op) ||
         std::holds_alternative<NftForwardChange>(op) || std::holds_alternative<NftElemAdd>(op) ||
         std::holds_alternative<NftElemDel>(op) || std::holds_alternative<NftKeySetAdd>(op) ||
         std::holds_alternative<NftKeySetDel>(op) || std::holds_alternative<NftKeyElemAdd>(op) ||
         std::holds_alternative<NftKeyElemDel>(op);
}

}  // namespace netkeep
