// The forwarding dispatch's two shapes of map: single ports in hash maps,
// ranges in interval maps, and the move from an earlier netkeep's one
// interval map per protocol with the forwardings' counters carried over.
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <algorithm>

#include "model/nft_text.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "tests/fake/fake_kernel.hpp"
#include "nft_helpers.hpp"

using namespace netkeep;
using namespace netkeep::test;

namespace {

const std::vector<Forwarding> kForwardings = {
    {IPPROTO_TCP, {8080, 8080}, *IpAddr::parse("10.10.0.23"), {80, 80}},
    {IPPROTO_TCP, {6000, 6010}, *IpAddr::parse("10.10.0.99"), {6000, 6010}},
    {IPPROTO_UDP, {53, 53}, *IpAddr::parse("10.10.0.99"), {53, 53}},
};

// The layout netkeep wrote before the maps were split: per protocol one
// interval map and one interval count set, under the single-port names,
// both holding ports and ranges. The kernel reads them back as of another
// type than the names now stand for.
Actual earlier_layout(const Desired& d) {
  Actual a = converged(d);
  for (auto ranges_name :
       {kForwardingRangesTcp, kForwardingRangesUdp, kCountRangesTcp, kCountRangesUdp}) {
    auto it = std::find_if(a.nft.maps.begin(), a.nft.maps.end(),
                           [&](const NftMap& m) { return m.name == ranges_name; });
    REQUIRE(it != a.nft.maps.end());
    const NftMap ranges = *it;
    a.nft.maps.erase(it);
    const bool dnat = ranges.kind == NftMapKind::dnat;
    const uint8_t proto = dnat ? forwarding_map_proto(ranges.name) : count_set_proto(ranges.name);
    NftMap* one = a.nft.map(NftFamily::ip, ranges.table,
                            dnat ? forwarding_map(proto, false) : count_set(proto, false));
    REQUIRE(one);
    one->typed = false;
    one->elems.insert(one->elems.end(), ranges.elems.begin(), ranges.elems.end());
    std::sort(one->elems.begin(), one->elems.end(),
              [](const NftMapElem& x, const NftMapElem& y) { return x.first < y.first; });
    for (auto& e : one->elems) {
      e.packets = dnat ? e.first : 1000u + e.first;  // connections; packets counted
      e.bytes = dnat ? 0 : 64000u + e.first;
    }
  }
  for (auto& c : a.nft.chains)  // no rule used a ranges map yet
    std::erase_if(c.rules, [](const NftRule& r) {
      return rule_text(r.body).find("-ranges") != std::string::npos;
    });
  return a;
}

}  // namespace

TEST_CASE("single ports go to the hash maps, ranges to the interval maps") {
  const NftState s = desired_ruleset(NftInputs{"uplink0", std::nullopt, kForwardings});
  for (const auto& m : s.maps) {
    INFO(m.name);
    for (const auto& e : m.elems) CHECK(is_range(e) == ranges_set(m.name));
  }
  auto elems = [&](const char* name) { return s.map(NftFamily::ip, "nat", name)->elems.size(); };
  CHECK(elems(kForwardingMapTcp) == 1);
  CHECK(elems(kForwardingRangesTcp) == 1);
  CHECK(elems(kForwardingMapUdp) == 1);
  CHECK(elems(kForwardingRangesUdp) == 0);
  CHECK(ranges_set(kCountRangesTcp));
  CHECK_FALSE(ranges_set(kCountSetUdp));
  CHECK_FALSE(ranges_set("something else"));
  // A kernel refuses a range in a hash set; so does the fake one.
  FakeKernel k(converged(with_forwardings({})));
  NftMapElem range{7000, 7001, {10, 10, 0, 2}, 7000, 7001, 0, 0};
  const Op wrong = NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, IPPROTO_TCP, range, {}};
  CHECK_FALSE(k.apply_nft({&wrong}).empty());
}

TEST_CASE(
    "an earlier netkeep's one interval map per protocol is split in one transaction, "
    "counts carried over") {
  const Desired d = with_forwardings(kForwardings);
  const Actual a = earlier_layout(d);
  const Plan p = nft_only(plan(d, a));
  CHECK(p.ops.size() > 0);
  // Every forwarding is added with the counts it had.
  size_t adds = 0;
  for (const auto& op : p.ops)
    if (auto* add = std::get_if<NftForwardAdd>(&op)) {
      adds++;
      INFO(to_text(op));
      CHECK(add->elem.packets == add->elem.first);
      CHECK(add->count_packets == 1000u + add->elem.first);
      CHECK(add->count_bytes == 64000u + add->elem.first);
    }
  CHECK(adds == 3);

  CountingKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(k.transactions == 1);  // no moment without a forwarding
  CHECK(nft_only(plan(d, k.state())).empty());
  const auto counts = forwarding_counts(k.state().nft.maps);
  REQUIRE(counts.size() == 3);
  for (const auto& c : counts) {
    INFO(c.elem.first);
    CHECK(c.connections == c.elem.first);
    CHECK(c.packets == 1000u + c.elem.first);
    CHECK(c.bytes == 64000u + c.elem.first);
  }
  // Listed by protocol and port, whichever map holds them.
  CHECK(counts[0].elem.first == 6000);
  CHECK(counts[1].elem.first == 8080);
  CHECK(counts[2].proto == IPPROTO_UDP);
}

TEST_CASE("a changed destination starts its connection count again; a kept one keeps it") {
  const Desired d = with_forwardings(kForwardings);
  Actual a = converged(d);
  for (auto& m : a.nft.maps)
    for (auto& e : m.elems) e.packets = 5;
  auto edited = kForwardings;
  edited[0].dest_addr = *IpAddr::parse("10.10.0.24");
  const Plan p = nft_only(plan(with_forwardings(edited), a));
  REQUIRE(p.ops.size() == 1);
  REQUIRE(std::holds_alternative<NftForwardChange>(p.ops[0]));
  CHECK(std::get<NftForwardChange>(p.ops[0]).to.packets == 0);
}

TEST_CASE("undoing the split restores the forwardings and counts in the current layout") {
  const Desired d = with_forwardings(kForwardings);
  const Actual before = earlier_layout(d);
  FakeKernel k(before);
  REQUIRE(execute(nft_only(plan(d, before)), k).ok());
  // Undone (apply --confirm that is not confirmed): the earlier layout
  // cannot come back as it was, since netkeep makes only the current one;
  // its forwardings and their counts do, and every map is looked up.
  std::vector<Op> ops;
  plan_nft_restore(before.nft, k.state().nft, ops);
  Plan undo;
  undo.ops = ops;
  REQUIRE(execute(undo, k).ok());
  const Actual after = k.state();
  CHECK(nft_only(plan(d, after)).empty());  // the same as the config's ruleset
  const auto counts = forwarding_counts(after.nft.maps);
  REQUIRE(counts.size() == 3);
  for (const auto& c : counts) CHECK(c.connections == c.elem.first);
  // Undoing it again changes nothing.
  ops.clear();
  plan_nft_restore(before.nft, after.nft, ops);
  CHECK(ops.empty());
}
