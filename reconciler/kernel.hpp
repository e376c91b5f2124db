// The seams between netkeep's core and the kernel, passed by constructor:
// the Linux backend implements them over rtnetlink and /proc; tests pass fakes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/actual.hpp"
#include "model/desired.hpp"
#include "model/result.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

// The nftables ruleset's generation moved from `before` to `after` while
// it was read: other programs committed. What was read holds if none of
// those commits touched an object netkeep owns, which only whoever follows
// the nftables event group can tell (the daemon; NftKernel::accept_race).
struct NftRace {
  uint32_t before = 0, after = 0;
};

// What went wrong in one kernel call, as a value: the op or request it was
// (empty when the caller names it, as the executor does), the errno and
// the kernel's words.
struct KernelError {
  KernelError(int c = 0, std::string m = {}, std::string w = {})
      : code(c), message(std::move(m)), what(std::move(w)) {}
  int code = 0;         // errno, as the kernel returned it
  std::string message;  // the kernel's extended-ACK text, else strerror
  std::string what;     // e.g. "dumping addresses"; empty when the caller says
  // Where in the request the kernel found what it refused: the extended
  // ACK's offset of the attribute from the request's header (0: not said).
  uint32_t bad_attr = 0;
  std::optional<NftRace> race;  // EAGAIN from a read that raced commits

  std::string str() const { return what.empty() ? message : what + ": " + message; }
};

template <class T>
using KernelResult = Result<T, KernelError>;

class KernelReader {
 public:
  virtual ~KernelReader() = default;
  // What the next snapshot must also read because the config refers to it
  // (e.g. FEC of the configured links). Optional for a reader.
  virtual void scope(const Desired&) {}
  // A consistent snapshot of everything netkeep manages, or an error.
  // The snapshot is the caller's: the reader keeps nothing of it.
  virtual KernelResult<Actual> snapshot() = 0;
};

// An error of an nftables transaction; `index` is the op the kernel
// rejected (its position in the ops passed), or npos for the whole batch.
struct NftError {
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t index = npos;
  KernelError error;
  // Nothing was applied because the batch was planned from a state that no
  // longer holds: the ruleset changed since it was read (the kernel's
  // generation check refused the batch), or what the backend kept of it
  // proved wrong. Planning again from a fresh read is the remedy.
  bool stale = false;
};

class KernelWriter {
 public:
  virtual ~KernelWriter() = default;
  // Performs one rtnetlink, sysctl or file op; returns the error, if any.
  virtual std::optional<KernelError> apply(const Op& op) = 0;
  // Sends every nftables op of one reconcile as ONE transaction, which the
  // kernel applies whole or not at all. No errors: committed.
  // The ops point into the plan: a transaction of thousands of rules is not copied.
  virtual std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) = 0;
  // Write requests sent so far (netlink messages, sysctl and file writes).
  virtual uint64_t writes() const = 0;
  // Performs FlowsEnd ops together (the Linux backend reads the conntrack
  // table once for them all); an error for each that failed.
  virtual std::vector<std::optional<KernelError>> end_flows(
      const std::vector<const FlowsEnd*>& ops) {
    std::vector<std::optional<KernelError>> out;
    for (const FlowsEnd* f : ops) out.push_back(apply(Op{*f}));
    return out;
  }
  // Conntrack entries of `proto` deleted so far by FlowsEnd ops.
  virtual uint64_t flows_ended(uint8_t proto) const {
    (void)proto;
    return 0;
  }
};

}  // namespace netkeep
