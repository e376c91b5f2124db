// The forwarding dispatch's three shapes of map: single ports in hash maps,
// ranges in interval maps (to themselves, or to one port), and the move
// from an earlier netkeep's one interval map per protocol with the
// forwardings' counters carried over.
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
    {IPPROTO_TCP, {7000, 7005}, *IpAddr::parse("10.10.0.5"), {22, 22}},
};

// The layout netkeep wrote before the maps were split: per protocol one
// interval map and one interval count set, under the single-port names,
// both holding ports and ranges. The kernel reads them back as of another
// type than the names now stand for.
Actual earlier_layout(const Desired& d) {
  Actual a = converged(d);
  for (auto ranges_name :
       {kForwardingRangesTcp, kForwardingRangesUdp, kCountRangesTcp, kCountRangesUdp,
        kForwardingToPortTcp, kForwardingToPortUdp, kCountToPortTcp, kCountToPortUdp}) {
    auto it = std::find_if(a.nft.maps.begin(), a.nft.maps.end(),
                           [&](const NftMap& m) { return m.name == ranges_name; });
    REQUIRE(it != a.nft.maps.end());
    const NftMap ranges = *it;
    a.nft.maps.erase(it);
    const bool dnat = ranges.kind == NftMapKind::dnat;
    const uint8_t proto = dnat ? forwarding_map_proto(ranges.name) : count_set_proto(ranges.name);
    NftMap* one =
        a.nft.map(NftFamily::ip, ranges.table,
                  dnat ? forwarding_map(proto, FwdShape::port) : count_set(proto, FwdShape::port));
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

// Each forwarding's counts as earlier_layout() and two_map_layout() set
// them: connections its first port, packets 1000 more, bytes 64000 more.
void check_counts_kept(const NftState& s, size_t forwardings) {
  const auto counts = forwarding_counts(s.maps);
  REQUIRE(counts.size() == forwardings);
  for (const auto& c : counts) {
    INFO(c.elem.first);
    CHECK(c.connections == c.elem.first);
    CHECK(c.packets == 1000u + c.elem.first);
    CHECK(c.bytes == 64000u + c.elem.first);
  }
}

}  // namespace

TEST_CASE("single ports go to the hash maps, ranges to the interval maps of their data") {
  const NftState s = desired_ruleset(NftInputs{"uplink0", std::nullopt, kForwardings});
  for (const auto& m : s.maps) {
    INFO(m.name);
    for (const auto& e : m.elems) {
      CHECK((e.first != e.last) == ranges_set(m.name));
      if (m.kind == NftMapKind::dnat) CHECK(shape_of(e) == set_shape(m.name));
    }
  }
  auto elems = [&](const char* name) { return s.map(NftFamily::ip, "nat", name)->elems.size(); };
  CHECK(elems(kForwardingMapTcp) == 1);
  CHECK(elems(kForwardingRangesTcp) == 1);
  CHECK(elems(kForwardingToPortTcp) == 1);
  CHECK(elems(kForwardingMapUdp) == 1);
  CHECK(elems(kForwardingRangesUdp) == 0);
  CHECK(elems(kForwardingToPortUdp) == 0);
  CHECK(ranges_set(kCountToPortTcp));
  CHECK(ranges_set(kCountRangesTcp));
  CHECK_FALSE(ranges_set(kCountSetUdp));
  CHECK_FALSE(ranges_set("something else"));
  // A kernel refuses a range in a hash set; so does the fake one.
  FakeKernel k(converged(with_forwardings({})));
  NftMapElem range{7000, 7001, {10, 10, 0, 2}, 7000, 7001, 0, 0};
  const Op wrong = NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, IPPROTO_TCP, range, {}};
  CHECK_FALSE(k.apply_nft({&wrong}).empty());
  // Nor does either take a port range as the data of a one-port map.
  NftMapElem to_range{7000, 7000, {10, 10, 0, 2}, 7000, 7001, 0, 0};
  const Op wrong_data =
      NftForwardAdd{NftFamily::ip, "nat", kForwardingMapTcp, IPPROTO_TCP, to_range, {}};
  CHECK_FALSE(k.apply_nft({&wrong_data}).empty());
}

TEST_CASE("a port cut from a range to itself by first match maps to itself, as one port") {
  const std::vector<Forwarding> fw = {
      {IPPROTO_UDP, {5000, 5009}, *IpAddr::parse("10.10.0.7"), {5000, 5009}},
      {IPPROTO_UDP, {5000, 5010}, *IpAddr::parse("10.10.0.8"), {5000, 5010}}};
  const NftState s = desired_ruleset(NftInputs{"uplink0", std::nullopt, fw});
  const NftMap* ports = s.map(NftFamily::ip, "nat", kForwardingMapUdp);
  REQUIRE(ports->elems.size() == 1);
  CHECK(ports->elems[0].first == 5010);
  CHECK(ports->elems[0].to_first == 5010);
  CHECK(ports->elems[0].to_last == 5010);
  CHECK(s.map(NftFamily::ip, "nat", kForwardingRangesUdp)->elems.size() == 1);
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
  CHECK(adds == 4);

  CountingKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(k.transactions == 1);  // no moment without a forwarding
  CHECK(nft_only(plan(d, k.state())).empty());
  check_counts_kept(k.state().nft, 4);
  const auto counts = forwarding_counts(k.state().nft.maps);
  // Listed by protocol and port, whichever map holds them.
  CHECK(counts[0].elem.first == 6000);
  CHECK(counts[1].elem.first == 7000);
  CHECK(counts[2].elem.first == 8080);
  CHECK(counts[3].proto == IPPROTO_UDP);
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
  REQUIRE(counts.size() == 4);
  for (const auto& c : counts) CHECK(c.connections == c.elem.first);
  // Undoing it again changes nothing.
  ops.clear();
  plan_nft_restore(before.nft, after.nft, ops);
  CHECK(ops.empty());
}

namespace {

// The layout before the maps of one-port data: per protocol a hash map and
// a ranges map, both of interval data, ranges to one port in the ranges
// map; the single-port maps read back as of another type.
Actual two_map_layout(const Desired& d) {
  Actual a = converged(d);
  for (auto to_port :
       {kForwardingToPortTcp, kForwardingToPortUdp, kCountToPortTcp, kCountToPortUdp}) {
    auto it = std::find_if(a.nft.maps.begin(), a.nft.maps.end(),
                           [&](const NftMap& m) { return m.name == to_port; });
    REQUIRE(it != a.nft.maps.end());
    const NftMap moved = *it;
    a.nft.maps.erase(it);
    const bool dnat = moved.kind == NftMapKind::dnat;
    const uint8_t proto = dnat ? forwarding_map_proto(moved.name) : count_set_proto(moved.name);
    NftMap* ranges = a.nft.map(
        NftFamily::ip, moved.table,
        dnat ? forwarding_map(proto, FwdShape::range) : count_set(proto, FwdShape::range));
    REQUIRE(ranges);
    ranges->elems.insert(ranges->elems.end(), moved.elems.begin(), moved.elems.end());
    std::sort(ranges->elems.begin(), ranges->elems.end(),
              [](const NftMapElem& x, const NftMapElem& y) { return x.first < y.first; });
  }
  for (auto& m : a.nft.maps) {
    if (m.kind == NftMapKind::dnat && !ranges_set(m.name)) m.typed = false;
    for (auto& e : m.elems) {
      e.packets = m.kind == NftMapKind::dnat ? e.first : 1000u + e.first;
      e.bytes = m.kind == NftMapKind::dnat ? 0 : 64000u + e.first;
    }
  }
  for (auto& c : a.nft.chains)
    std::erase_if(c.rules, [](const NftRule& r) {
      return rule_text(r.body).find("-to-port") != std::string::npos;
    });
  return a;
}

}  // namespace

TEST_CASE("the layout of interval data for one port is converted in one transaction, counts kept") {
  const Desired d = with_forwardings(kForwardings);
  const Actual a = two_map_layout(d);
  const Plan p = nft_only(plan(d, a));
  CountingKernel k(a);
  REQUIRE(execute(p, k).ok());
  CHECK(k.transactions == 1);
  CHECK(nft_only(plan(d, k.state())).empty());
  check_counts_kept(k.state().nft, 4);
  // The range to one port moved to its own map, with its counts.
  const NftMap* to_port = k.state().nft.map(NftFamily::ip, "nat", kForwardingToPortTcp);
  REQUIRE(to_port);
  REQUIRE(to_port->elems.size() == 1);
  CHECK(to_port->elems[0].first == 7000);
  // Undone, the forwardings and their counts come back in the current layout.
  std::vector<Op> ops;
  plan_nft_restore(a.nft, k.state().nft, ops);
  FakeKernel f(k.state());
  Plan undo;
  undo.ops = ops;
  REQUIRE(execute(undo, f).ok());
  CHECK(nft_only(plan(d, f.state())).empty());
  check_counts_kept(f.state().nft, 4);
}
