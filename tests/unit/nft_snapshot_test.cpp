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
#include <memory>
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
  explicit Events(NftKernel& k) : k_(k) {
    auto sock = nl::Socket::open(NETLINK_NETFILTER);
    REQUIRE(sock);
    sock_ = std::move(*sock);
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
  uint32_t seen_ = 0;
};

bool has_nat(const NftState& s) {
  return std::find(s.tables.begin(), s.tables.end(), NftTable{NftFamily::ip, "nat"}) !=
         s.tables.end();
}

// netkeep's kernel with an owned table, the events it follows, and the
// Foreign program.
struct Race {
  Race() {
    own_namespace();
    k = open_nft();
    REQUIRE(nft_owned_table(NftFamily::ip, "nat"));
    REQUIRE(k->send({&nat}).empty());
    events = std::make_unique<Events>(*k);
    k->set_events(events.get());
    foreign = std::make_unique<Foreign>();
  }
  // A snapshot dumped in full while the Foreign program commits without
  // pause, tried again until the generation moves under the dump. When
  // the snapshot reads the events to judge the dump, `judged` runs first:
  // the Foreign program has stopped by then.
  std::optional<KernelError> raced_snapshot(NftState& s, const std::function<void()>& judged) {
    for (int attempt = 0; attempt < 200; attempt++) {
      k->set_view(std::nullopt);
      std::atomic<bool> stop = false;
      std::atomic<int> commits = 0;
      std::thread storm([&] {
        for (; !stop; commits++) foreign->commit();
      });
      while (commits == 0) std::this_thread::yield();  // it has begun
      auto halt = [&] {
        if (!storm.joinable()) return;
        stop = true;
        storm.join();
      };
      events->calls = 0;
      events->before_reading = [&] {
        if (events->calls < 2) return;  // the first look, before the dump
        halt();
        judged();
      };
      s = {};
      auto e = k->snapshot(s);
      halt();
      events->before_reading = nullptr;
      if (events->calls == 2) return e;
      k->give_back(std::move(s));
    }
    FAIL("no dump in 200 raced the Foreign program's commits");
    return std::nullopt;
  }
  Op nat = NftTableAdd{{NftFamily::ip, "nat"}};
  std::unique_ptr<NftKernel> k;
  std::unique_ptr<Events> events;
  std::unique_ptr<Foreign> foreign;
};

TEST_CASE("a dump that raced foreign commits keeps following the events read after it") {
  Race race;
  auto& k = race.k;
  // One more commit lands after the generation the snapshot read last:
  // the events announce it along with the rest.
  NftState s;
  REQUIRE_FALSE(race.raced_snapshot(s, [&] { race.foreign->commit(); }));
  CHECK(has_nat(s));
  k->give_back(std::move(s));
  // A batch planned from that dump is of the generation the events
  // reached, past the last one the dump read: the kernel accepts it.
  CHECK(k->send({&race.nat}).empty());
  // The view followed the commits after the dump (the batch above kept it
  // current too): the next snapshot needs no dump.
  const uint64_t dumps = k->full_dumps();
  NftState again;
  REQUIRE_FALSE(k->snapshot(again));
  CHECK(k->full_dumps() == dumps);
  CHECK(has_nat(again));
  CHECK(race.foreign->failed == 0);
}

TEST_CASE("events lost while a raced dump is judged: it is dumped again") {
  Race race;
  auto& k = race.k;
  // The daemon forgets the view when its event socket overran; the events
  // it did read still show only foreign commits.
  NftState s;
  auto e = race.raced_snapshot(s, [&] {
    race.foreign->commit();
    k->set_view(std::nullopt);
  });
  REQUIRE(e);
  CHECK(e->code == EAGAIN);
  const uint64_t dumps = k->full_dumps();
  NftState again;
  REQUIRE_FALSE(k->snapshot(again));
  CHECK(k->full_dumps() == dumps + 1);
  CHECK(has_nat(again));
}

}  // namespace
}  // namespace netkeep
