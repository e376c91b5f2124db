// The executor: the only code that writes. It applies a Plan op by op
// through a KernelWriter, keeps going after a failure, and skips only the
// ops that depend on a failed one (SPEC §5: errors don't stop independent work).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reconciler/kernel.hpp"

namespace netkeep {

struct OpFailure {
  Op op;
  KernelError error;
  bool skipped = false;  // not attempted: it depends on an op that failed
};

struct ExecResult {
  std::vector<size_t> applied;  // indices into the plan's ops
  std::vector<OpFailure> failures;
  uint64_t write_requests = 0;
  // Conntrack entries the FlowsEnd ops deleted (flows in flight ended or moved).
  uint64_t flows_ended_tcp = 0, flows_ended_udp = 0;
  // The plan was made from a state that no longer holds: the nftables
  // batch was refused as stale (NftError::stale), or a link the plan found
  // up was set down before its routes or addresses were written (ENETDOWN).
  // Plan again.
  bool stale = false;
  std::string stale_why;  // the kernel's or the backend's words for it
  bool ok() const { return failures.empty(); }
};

ExecResult execute(const Plan& plan, KernelWriter& writer);

std::string to_text(const OpFailure& f);  // "~ link lan0: mtu 1500 -> 9000: <message>"

}  // namespace netkeep
