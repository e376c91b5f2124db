// A fake kernel over an Actual value, for golden and executor tests: it
// applies ops the way the kernel would (replace semantics, EEXIST, ENODEV)
// and can be told to refuse chosen ops.
#pragma once

#include <functional>

#include "reconciler/executor.hpp"

namespace netkeep {

class FakeKernel : public KernelWriter {
 public:
  explicit FakeKernel(Actual state) : state_(std::move(state)) {}

  std::optional<WriteError> apply(const Op& op) override;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override;
  uint64_t writes() const override { return writes_; }

  const Actual& state() const { return state_; }
  // Called before each op; a returned error makes the op fail untouched.
  std::function<std::optional<WriteError>(const Op&)> refuse;

 private:
  Link* find(const std::string& name);
  std::optional<WriteError> apply_link(const Op& op);
  std::optional<WriteError> apply_one(const Op& op);  // addresses, routes, sysctls, files, links
  Actual state_;
  uint64_t writes_ = 0;
  uint64_t next_handle_ = 0;
};

}  // namespace netkeep
