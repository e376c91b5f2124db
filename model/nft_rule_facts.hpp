// What another program's rule does, as far as `netkeep doctor` needs to
// know: which protocol and destination ports it matches, and whether it
// DNATs, redirects, drops, accepts or jumps. Read from the kernel's bytes
// of the rule (model/nft.hpp), whatever wrote it: nft, iptables-nft,
// firewalld. Matches it does not understand are ignored, so a fact is a
// "may": the rule matches at most these packets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netkeep {

struct RuleFacts {
  std::optional<uint8_t> l4proto;                   // meta l4proto, or ip protocol, == P
  std::optional<uint16_t> dport_first, dport_last;  // th dport == P or in a range
  bool dnat = false, redirect = false;
  bool drop = false, accept = false;  // its verdict
  std::string jump;                   // the chain it jumps or goes to
};

RuleFacts rule_facts(std::string_view body);

}  // namespace netkeep
