// commit(): the second attempt after a stale nftables batch, against a
// fake kernel that refuses the first batch as stale once the rtnetlink
// ops before it were applied (issue: the saved plan's check ran again on
// a kernel the first attempt had changed, and the result's indices
// pointed into the plan given up).
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "model/actual_json.hpp"
#include "model/config.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "fresh_system.hpp"

using namespace netkeep;

namespace {

const char* kConfig = NETKEEP_TESTDATA "/fresh-system/config";

using test::fresh_system;

// Refuses its first nftables batch as stale (the kernel's generation
// check), after `meanwhile`, another program's change, if any.
struct StaleOnce : FakeKernel {
  using FakeKernel::FakeKernel;
  std::function<void(Actual&)> meanwhile;
  int batches = 0;
  std::vector<NftError> apply_nft(const std::vector<const Op*>& ops) override {
    if (batches++ > 0) return FakeKernel::apply_nft(ops);
    if (meanwhile) meanwhile(state());
    return {{NftError::npos,
             {ERESTART, "the ruleset changed since it was read (another program committed)"},
             true}};
  }
};

std::vector<std::string> json_of(const std::vector<Op>& ops) {
  std::vector<std::string> out;
  for (const Op& op : ops) out.push_back(to_json(op));
  return out;
}

// Every op the reconcile reports applied, the given-up plan's first.
std::vector<std::string> applied(const Reconcile& r) {
  std::vector<std::string> out = json_of(r.applied_before);
  for (size_t i : r.result.applied) {
    REQUIRE(i < r.plan.ops.size());
    out.push_back(to_json(r.plan.ops[i]));
  }
  return out;
}

bool converged(const FakeKernel& k) {
  Diagnostics d;
  return plan(load_config(kConfig, d), k.state()).empty();
}

size_t rtnl_ops(const Plan& p) {
  return static_cast<size_t>(
      std::count_if(p.ops.begin(), p.ops.end(), [](const Op& op) { return !is_nft(op); }));
}

// Another program deletes an address the first attempt added.
void delete_lan_address(Actual& a) {
  std::erase_if(a.addrs,
                [](const Address& x) { return x.local == *Prefix::parse("10.10.0.1/24"); });
}

}  // namespace

TEST_CASE("commit: the rest of an exact plan after a stale batch is executed; results index it") {
  StaleOnce k(fresh_system());
  Prepared p = prepare(kConfig, k);
  REQUIRE(p.ok());
  const Plan first = p.plan;
  REQUIRE(rtnl_ops(first) > 0);
  REQUIRE(rtnl_ops(first) < first.ops.size());
  CommitOptions o;
  o.exact = true;
  const Reconcile r = commit(std::move(p), k, k, o);
  CHECK(r.ok());
  CHECK(r.held_back.empty());
  CHECK(k.batches == 2);
  REQUIRE(r.replanned.size() == 1);
  CHECK(r.replanned[0].find("the ruleset changed") != std::string::npos);
  // What the first attempt applied is the rtnetlink part; the second plan
  // is the rest, and the result's indices are into it.
  CHECK(r.applied_before.size() == rtnl_ops(first));
  CHECK(rtnl_ops(r.plan) == 0);
  auto all = applied(r), want = json_of(first.ops);
  std::sort(all.begin(), all.end());
  std::sort(want.begin(), want.end());
  CHECK(all == want);
  CHECK(converged(k));
}

TEST_CASE("commit: an exact plan whose rest no longer fits is held back, and says what it did") {
  StaleOnce k(fresh_system());
  k.meanwhile = delete_lan_address;
  Prepared p = prepare(kConfig, k);
  const Plan first = p.plan;
  CommitOptions o;
  o.exact = true;
  const Reconcile r = commit(std::move(p), k, k, o);
  CHECK_FALSE(r.ok());
  CHECK(r.held_back == "the plan made now differs from the rest of the saved one");
  CHECK(k.batches == 1);  // the second plan was not executed
  CHECK(r.changed());
  CHECK(r.applied_before.empty());
  // The result is the first attempt's, and its indices are into the
  // first plan, which the reconcile returns.
  CHECK(json_of(r.plan.ops) == json_of(first.ops));
  CHECK(r.result.applied.size() == rtnl_ops(first));
  for (size_t i : r.result.applied) CHECK_FALSE(is_nft(r.plan.ops[i]));
}

TEST_CASE("commit: otherwise the second plan is made from the kernel as it is, and executed") {
  StaleOnce k(fresh_system());
  k.meanwhile = delete_lan_address;
  std::vector<size_t> journaled;  // the plans shown to before_second, by size
  CommitOptions o;
  o.before_second = [&](const Actual&, const Plan& q) -> std::optional<std::string> {
    journaled.push_back(q.ops.size());
    return std::nullopt;
  };
  const Reconcile r = commit(prepare(kConfig, k), k, k, o);
  CHECK(r.ok());
  CHECK(k.batches == 2);
  REQUIRE(journaled.size() == 1);
  CHECK(journaled[0] == r.plan.ops.size());
  CHECK(rtnl_ops(r.plan) == 1);  // the address put back
  CHECK(converged(k));

  // An error from before_second holds the second plan back.
  StaleOnce k2(fresh_system());
  o.before_second = [](const Actual&, const Plan&) -> std::optional<std::string> {
    return "the journal cannot be written";
  };
  const Reconcile r2 = commit(prepare(kConfig, k2), k2, k2, o);
  CHECK(r2.held_back == "the journal cannot be written");
  CHECK(k2.batches == 1);
}

TEST_CASE("commit: a kernel that cannot be read is reported, and nothing is executed") {
  StaleOnce k(fresh_system());
  k.fail_snapshot = [] {
    return std::optional<KernelError>(KernelError{EIO, "broken", "dumping links"});
  };
  Prepared p = prepare(kConfig, k);
  CHECK_FALSE(p.ok());
  const Reconcile r = commit(std::move(p), k, k);
  REQUIRE(r.snapshot_error);
  CHECK(r.snapshot_error->str() == "dumping links: broken");
  CHECK_FALSE(r.changed());
  CHECK(k.writes() == 0);
}
