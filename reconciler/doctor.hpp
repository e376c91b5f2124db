// `netkeep doctor`: what on this router keeps its config from working,
// read from the kernel, never written. Most often it is not netkeep's
// ruleset but another program's: docker's forward policy drop, a
// firewall's DNAT that runs first, a sysctl someone changed back, a
// bridge netfilter hook. Each finding says what was seen and what to do.
// Pure: the backend reads the Survey, this judges it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/actual.hpp"
#include "model/desired.hpp"
#include "model/diag.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

// A chain netkeep does not own, with its rules as the kernel holds them.
struct ForeignChain {
  NftFamily family = NftFamily::ip;
  std::string table, name;
  std::optional<BaseChain> base;
  std::vector<RuleBody> rules;
};

// A socket listening, and the program holding it ("docker-proxy").
struct Listening {
  uint8_t proto = 0;
  IpAddr addr;  // all zeros: every address of its family
  uint16_t port = 0;
  std::string program;
};

// What the doctor reads beyond the snapshot.
struct Survey {
  std::vector<ForeignChain> chains;  // every chain of ip and inet tables netkeep does not own
  // net/ipv4/conf/{all,uplink0}/rp_filter, net/bridge/bridge-nf-call-iptables
  // (absent: the key is not there, e.g. br_netfilter is not loaded)
  std::map<std::string, std::string> sysctls;
  // The time (Unix seconds) the leases are judged at; without it they are
  // not judged.
  std::optional<int64_t> now;
  // lan0's neighbours the kernel asked for and got no answer from
  // (NUD_FAILED), or is still asking for (NUD_INCOMPLETE).
  std::vector<IpAddr> unanswered;
  // The sockets listening in this namespace (TCP listening, UDP bound).
  std::vector<Listening> listening;
};

struct Finding {
  Severity severity = Severity::warning;
  std::string what;  // what was seen
  std::string fix;   // what to do
};

// `pending` is the plan from the config to the kernel as it is now.
std::vector<Finding> diagnose(const Desired& desired, const Actual& actual, const Plan& pending,
                              const Survey& survey);

std::string to_text(const Finding& f);  // "error: WHAT\n  fix: FIX"
std::string to_json(const std::vector<Finding>& findings);

}  // namespace netkeep
