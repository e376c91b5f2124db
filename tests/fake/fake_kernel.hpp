// A fake kernel over an Actual value, for golden, executor and daemon
// loop tests: its snapshot is that value, it applies ops the way the
// kernel would (replace semantics, EEXIST, ENODEV) and can be told to
// refuse chosen ops.
#pragma once

#include <algorithm>
#include <functional>

#include "reconciler/executor.hpp"

namespace netkeep {

class FakeKernel : public KernelReader, public KernelWriter {
 public:
  explicit FakeKernel(Actual state) : state_(std::move(state)) {}

  KernelResult<Actual> snapshot() override {
    snapshots_++;
    if (fail_snapshot)
      if (auto e = fail_snapshot()) return unexpected(*e);
    return state_;
  }
  // Called at each snapshot; a returned error is the snapshot's.
  std::function<std::optional<KernelError>()> fail_snapshot;
  std::optional<KernelError> apply(const Op& op) override;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override;
  uint64_t writes() const override { return writes_; }
  // Each FlowsEnd applied ends one flow here.
  uint64_t flows_ended(uint8_t proto) const override {
    return static_cast<uint64_t>(std::count_if(
        ended.begin(), ended.end(), [&](const FlowsEnd& f) { return f.proto == proto; }));
  }
  std::vector<FlowsEnd> ended;  // the FlowsEnd ops applied, in order

  const Actual& state() const { return state_; }
  Actual& state() { return state_; }  // another program's changes
  uint64_t snapshots() const { return snapshots_; }
  // Called before each op; a returned error makes the op fail untouched.
  std::function<std::optional<KernelError>(const Op&)> refuse;

 private:
  Link* find(const std::string& name);
  std::optional<KernelError> apply_link(const Op& op);
  std::optional<KernelError> apply_one(const Op& op);  // addresses, routes, sysctls, files, links
  Actual state_;
  uint64_t writes_ = 0, snapshots_ = 0;
  uint64_t next_handle_ = 0;
};

}  // namespace netkeep
