// What the nftables planner tests share: a desired state of forwardings
// alone, the nftables part of a plan, and a kernel that has applied one.
#pragma once

#include <doctest/doctest.h>

#include <vector>

#include "reconciler/executor.hpp"
#include "reconciler/plan.hpp"
#include "tests/fake/fake_kernel.hpp"

namespace netkeep::test {

inline Desired with_forwardings(std::vector<Forwarding> f) {
  Desired d;
  d.portforwardings = {FileState::ok, {std::move(f)}};
  return d;
}

inline Plan nft_only(Plan p) {
  std::erase_if(p.ops, [](const Op& op) { return !is_nft(op); });
  return p;
}

// The state after applying `d` to an empty kernel.
inline Actual converged(const Desired& d) {
  FakeKernel k(Actual{});
  REQUIRE(execute(plan(d, Actual{}), k).ok());
  return k.state();
}

// Applies `next`'s plan on top of `a`, checks convergence, returns the
// plan and the new state.
inline std::pair<Plan, Actual> step(const Actual& a, const Desired& next) {
  Plan p = nft_only(plan(next, a));
  FakeKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(nft_only(plan(next, k.state())).empty());
  return {p, k.state()};
}

// Counts the nftables transactions it is asked to commit.
struct CountingKernel : FakeKernel {
  using FakeKernel::FakeKernel;
  int transactions = 0;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override {
    transactions++;
    return FakeKernel::apply_nft(ops);
  }
};

}  // namespace netkeep::test
