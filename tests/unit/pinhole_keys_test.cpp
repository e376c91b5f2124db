// The pinhole sets' elements kept from one plan to the next (PinholeKeys):
// an edit of a few pinholes is merged into the last elements, and the
// result is what making them all gives, notes included, whatever the edit.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <random>

#include "reconciler/pinhole_keys.hpp"
#include "tests/unit/sanitized.hpp"

using namespace netkeep;

namespace {

IpAddr addr(const char* s) {
  return *IpAddr::parse(s);
}

// Few hosts, protocols and ports, so that pinholes often share elements.
Pinhole random_pinhole(std::mt19937& rng) {
  static const char* hosts[] = {"2001:db8:5::7", "2001:db8:5::8", "203.0.113.7",
                                "2001:db8:4a00:1::23"};
  static const char* iids[] = {"::23", "::1:2:3:4", "::7"};
  static const PortRange ports[] = {{443, 443}, {22, 22}, {60000, 60003}, {5060, 5060}};
  Pinhole p;
  p.proto = rng() % 2 ? 6 : 17;
  p.port = ports[rng() % 4];
  if (rng() % 2)
    p.dest_addr = addr(hosts[rng() % 4]);
  else
    p.dest_iid = addr(iids[rng() % 3]);
  if (rng() % 8 == 0) p.from = Prefix::parse("2001:db8:99::/48");
  return p;
}

std::vector<Prefix> random_delegated(std::mt19937& rng) {
  static const char* prefixes[] = {"2001:db8:4a00:1::/64", "2001:db8:4a00:2::/64"};
  std::vector<Prefix> out;
  for (size_t i = 0, n = rng() % 3; i < n; i++) out.push_back(*Prefix::parse(prefixes[i]));
  return out;
}

// An edit as an operator makes it: one pinhole added, removed, changed or
// moved, now and then a run of them or a new list.
void random_edit(std::mt19937& rng, std::vector<Pinhole>& v) {
  const auto at = [&](size_t extra) { return static_cast<ptrdiff_t>(rng() % (v.size() + extra)); };
  switch (v.empty() ? 0 : rng() % 10) {
    case 0:
    case 1:
    case 2:
      v.insert(v.begin() + at(1), random_pinhole(rng));
      break;
    case 3:
    case 4:
      v.erase(v.begin() + at(0));
      break;
    case 5:
    case 6:
      v[at(0)] = random_pinhole(rng);
      break;
    case 7: {  // moved
      const Pinhole p = v[at(0)];
      v.erase(std::find(v.begin(), v.end(), p));
      v.insert(v.begin() + at(1), p);
      break;
    }
    case 8:  // a copy of another
      v.insert(v.begin() + at(1), v[at(0)]);
      break;
    default:  // a run replaced
      for (int i = 0; i < 4 && !v.empty(); i++) v.erase(v.begin() + at(0));
      for (int i = 0; i < 3; i++) v.insert(v.begin() + at(1), random_pinhole(rng));
  }
  for (size_t i = 0; i < v.size(); i++) v[i].entry = i;
}

std::string text(const PinholeElems& e) {
  std::string s;
  for (size_t f = 0; f < 2; f++)
    for (const auto& x : e[f]) {
      for (unsigned char c : x.key.view()) s += fmt::format("{:02x}", c);
      s += " " + x.note + (f ? " (ip6)\n" : " (ip)\n");
    }
  return s;
}

}  // namespace

TEST_CASE("pinhole elements kept from one plan to the next are what making them all gives") {
  std::mt19937 rng(11);
  PinholeKeys keys;
  std::vector<Pinhole> pins;
  std::vector<Prefix> delegated = random_delegated(rng);
  const int steps = test::kSanitized ? 800 : 8000;
  for (int step = 0; step < steps; step++) {
    if (step % (steps / 20) == 0) {
      pins.clear();
      for (int i = 0, n = 5 + int(rng() % 40); i < n; i++) pins.push_back(random_pinhole(rng));
    }
    if (rng() % 50 == 0) delegated = random_delegated(rng);  // a renumbering
    random_edit(rng, pins);
    update(keys, pins, delegated);
    const std::string got = text(keys.elems), want = text(pinhole_elems(pins, delegated));
    if (got != want) {
      FAIL_CHECK("step " << step << ": got\n" << got << "want\n" << want);
      break;
    }
    for (size_t f = 0; f < 2; f++) REQUIRE(keys.uses[f].size() == keys.elems[f].size());
  }
  INFO("made: " << keys.made << ", edited: " << keys.edited);
  // Many of the edits touch an element another pinhole gives too (few
  // hosts and ports here): those make all again.
  CHECK(keys.edited > uint64_t(steps) / 4);
  CHECK(keys.made + keys.edited == uint64_t(steps));
}

TEST_CASE("one pinhole added among 10,000 is merged, not all made again") {
  std::vector<Pinhole> pins;
  for (int i = 0; i < 10000; i++) {
    Pinhole p;
    p.port = {443, 443};
    p.dest_addr = addr(fmt::format("2001:db8:5::{:x}", i + 1).c_str());
    pins.push_back(p);
  }
  PinholeKeys keys;
  update(keys, pins, {});
  Pinhole extra;
  extra.port = {443, 443};
  extra.dest_addr = addr("2001:db8:6::1");
  pins.insert(pins.begin() + 5000, extra);
  update(keys, pins, {});
  CHECK(keys.made == 1);
  CHECK(keys.edited == 1);
  CHECK(keys.elems[1].size() == 10001);
  CHECK(text(keys.elems) == text(pinhole_elems(pins, {})));
}

TEST_CASE("an element two pinholes give keeps the first one's note") {
  const std::vector<Prefix> delegated = {*Prefix::parse("2001:db8:4a00:1::/64")};
  Pinhole by_addr, by_iid;
  by_addr.dest_addr = addr("2001:db8:4a00:1::23");
  by_iid.dest_iid = addr("::23");
  by_addr.port = by_iid.port = {443, 443};
  PinholeKeys keys;
  update(keys, {by_iid, by_addr}, delegated);
  REQUIRE(keys.elems[1].size() == 1);
  CHECK(keys.elems[1][0].note == "::23");
  CHECK(keys.uses[1][0] == 2);
  update(keys, {by_addr}, delegated);  // the first one gone: the second's note
  REQUIRE(keys.elems[1].size() == 1);
  CHECK(keys.elems[1][0].note.empty());
  update(keys, {}, delegated);
  CHECK(keys.elems[1].empty());
}

TEST_CASE("a key of no bytes is empty, from a view whose data is null too") {
  // A view file's empty key reads as a null view (found by fuzz_state_files).
  const NftKey none{std::string_view()};
  CHECK(none.size() == 0);
  CHECK(none == NftKey());
}
