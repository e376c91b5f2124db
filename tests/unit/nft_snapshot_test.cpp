// NftKernel's snapshot against the kernel, in a network namespace this
// program makes for itself (unshare: it goes when the program exits): the
// kept view when another program commits while the owned objects are
// dumped.
#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include "backends/nft_codec.hpp"
#include "backends/nft_kernel.hpp"
#include "reconciler/nft_desired.hpp"

namespace netkeep {
namespace {

void own_namespace() {
  if (unshare(CLONE_NEWNET) == 0) return;
  std::fprintf(stderr, "skipped: cannot make a network namespace (unshare: %s); run as root\n",
               std::strerror(errno));
  std::exit(77);
}

std::unique_ptr<NftKernel> open_nft() {
  auto k = NftKernel::open();
  REQUIRE(k);
  return std::move(*k);
}

// Another program: it commits to a table netkeep does not own, a chain
// added and deleted in turn, one transaction each.
class Foreign {
 public:
  Foreign() : k_(open_nft()) { send(NftTableAdd{{NftFamily::ip, "foreign"}}); }
  void commit() {
    if (on_)
      send(NftChainDel{NftFamily::ip, "foreign", "c", "test"});
    else
      send(NftChainAdd{NftFamily::ip, "foreign", "c", std::nullopt});
    on_ = !on_;
  }
  int failed = 0;

 private:
  void send(Op op) { failed += !k_->send({&op}).empty(); }
  std::unique_ptr<NftKernel> k_;
  bool on_ = false;
};

// The event stream as the daemon follows it, for a ruleset whose every
// commit is the Foreign one's: none touches an owned object, and catching
// up reads every commit made so far.
class Events : public NftEvents {
 public:
  explicit Events(NftKernel& k) : k_(k), sock_(std::move(*nl::Socket::open(NETLINK_NETFILTER))) {
    seen_ = generation();
  }
  void catch_up() override {
    calls++;
    if (before_reading) before_reading();
    for (uint32_t now = generation(); seen_ != now;) k_.view_passed(++seen_);
  }
  bool untouched(uint32_t, uint32_t after) override {
    return static_cast<int32_t>(seen_ - after) >= 0;
  }
  void committing(size_t) override {}

  int calls = 0;
  std::function<void()> before_reading;

 private:
  uint32_t generation() {
    auto m = nft::request_gen();
    std::optional<uint32_t> gen;
    REQUIRE_FALSE(sock_->get(m.hdr(), [&](const nlmsghdr* nlh) { gen = nft::decode_gen(nlh); }));
    REQUIRE(gen);
    return *gen;
  }
  NftKernel& k_;
  std::unique_ptr<nl::Socket> sock_;
  uint32_t seen_;
};

bool has_nat(const NftState& s) {
  return std::find(s.tables.begin(), s.tables.end(), NftTable{NftFamily::ip, "nat"}) !=
         s.tables.end();
}

TEST_CASE("a dump that raced foreign commits keeps following the events read after it") {
  own_namespace();
  auto k = open_nft();
  REQUIRE(nft_owned_table(NftFamily::ip, "nat"));
  Op nat = NftTableAdd{{NftFamily::ip, "nat"}};
  REQUIRE(k->send({&nat}).empty());
  Events events(*k);
  k->set_events(&events);
  Foreign foreign;

  // The Foreign program commits without pause while the view is dumped
  // again, until a dump sees the generation move under it. When the
  // snapshot then reads the events, one more commit has landed after the
  // generation it read last: the events announce it along with the rest.
  bool raced = false;
  for (int attempt = 0; attempt < 200 && !raced; attempt++) {
    k->set_view(std::nullopt);
    std::atomic<bool> stop = false;
    std::atomic<int> commits = 0;
    std::thread storm([&] {
      for (; !stop; commits++) foreign.commit();
    });
    while (commits == 0) std::this_thread::yield();  // it has begun
    auto halt = [&] {
      if (!storm.joinable()) return;
      stop = true;
      storm.join();
    };
    events.calls = 0;
    events.before_reading = [&] {
      if (events.calls < 2) return;  // the first look, before the dump
      halt();
      foreign.commit();
    };
    NftState s;
    auto e = k->snapshot(s);
    halt();
    events.before_reading = nullptr;
    raced = events.calls == 2;
    if (!raced) {
      k->give_back(std::move(s));
      continue;
    }
    INFO("attempt ", attempt);
    REQUIRE_FALSE(e);  // every commit that raced the dump was foreign
    CHECK(has_nat(s));
    k->give_back(std::move(s));
    // A batch planned from that dump is of the generation the events
    // reached, past the last one the dump read: the kernel accepts it.
    CHECK(k->send({&nat}).empty());
    // The view followed the commits after the dump (the batch above kept
    // it current too): the next snapshot needs no dump.
    const uint64_t dumps = k->full_dumps();
    NftState again;
    REQUIRE_FALSE(k->snapshot(again));
    CHECK(k->full_dumps() == dumps);
    CHECK(has_nat(again));
  }
  REQUIRE_MESSAGE(raced, "no dump in 200 raced the Foreign program's commits");
  CHECK(foreign.failed == 0);
}

}  // namespace
}  // namespace netkeep
