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

// The event group as the daemon follows it: nothing is read from it
// here; the test reads the generation itself and tells the view.
struct Followed : Watch {
  int fd() const override { return -1; }
  const std::string& error() const override { return none; }
  Drained drain(const Relevant&) override { return {}; }
  void reserve(size_t bytes) override { reserved = bytes; }
  std::string none;
  size_t reserved = 0;
};

uint32_t generation() {
  auto sock = nl::Socket::open(NETLINK_NETFILTER);
  REQUIRE(sock);
  auto m = nft::request_gen();
  std::optional<uint32_t> gen;
  REQUIRE_FALSE((*sock)->get(m.hdr(), [&](const nlmsghdr* nlh) { gen = nft::decode_gen(nlh); }));
  REQUIRE(gen);
  return *gen;
}

bool has_nat(const NftState& s) {
  return std::find(s.tables.begin(), s.tables.end(), NftTable{NftFamily::ip, "nat"}) !=
         s.tables.end();
}

// netkeep's kernel with an owned table, following the events, and the
// Foreign program.
struct Race {
  Race() {
    own_namespace();
    k = open_nft();
    REQUIRE(nft_owned_table(NftFamily::ip, "nat"));
    REQUIRE(k->send({&nat}).empty());
    k->follow_events(&followed);
    foreign = std::make_unique<Foreign>();
  }
  // A snapshot dumped in full while the Foreign program commits without
  // pause, tried again until the generation moves under the dump; its error.
  KernelError raced_dump() {
    for (int attempt = 0; attempt < 200; attempt++) {
      k->set_view(std::nullopt);
      std::atomic<bool> stop = false;
      std::atomic<int> commits = 0;
      std::thread storm([&] {
        for (; !stop; commits++) foreign->commit();
      });
      while (commits == 0) std::this_thread::yield();  // it has begun
      NftState s;
      auto e = k->snapshot(s);
      stop = true;
      storm.join();
      if (e) return *e;
    }
    FAIL("no dump in 200 raced the Foreign program's commits");
    return {};
  }
  // What the daemon's events would show: every commit up to now, none of
  // them touching an owned object.
  void catch_up(uint32_t from) {
    for (uint32_t now = generation(); from != now;) k->view_passed(++from);
  }
  Op nat = NftTableAdd{{NftFamily::ip, "nat"}};
  Followed followed;
  std::unique_ptr<NftKernel> k;
  std::unique_ptr<Foreign> foreign;
};

TEST_CASE("a dump that raced foreign commits is a race for the caller; accepted, it is the view") {
  Race race;
  auto& k = race.k;
  const uint64_t before = k->full_dumps();
  const KernelError e = race.raced_dump();
  CHECK(e.code == EAGAIN);
  REQUIRE(e.race);
  CHECK(e.race->before != e.race->after);
  // One more commit lands after the race; the events announce it along
  // with the rest, and the caller vouches for them all.
  race.foreign->commit();
  race.catch_up(e.race->after);
  k->accept_race();
  const uint64_t dumps = k->full_dumps();
  CHECK(dumps > before);
  NftState s;
  REQUIRE_FALSE(k->snapshot(s));
  CHECK(k->full_dumps() == dumps);  // the view: no dump
  CHECK(has_nat(s));
  // A batch planned from it is of the generation the events reached: the
  // kernel accepts it, and the socket the events come on had room made.
  race.followed.reserved = 0;
  CHECK(k->send({&race.nat}).empty());
  CHECK(race.followed.reserved >= (4u << 20));
  CHECK(race.foreign->failed == 0);
}

TEST_CASE("a view the generation has passed is a race too, not a dump; unaccepted, it is dumped") {
  Race race;
  auto& k = race.k;
  NftState s;
  REQUIRE_FALSE(k->snapshot(s));
  const uint32_t was = generation();
  race.foreign->commit();
  const uint64_t dumps = k->full_dumps();
  auto e = k->snapshot(s);
  REQUIRE(e);
  REQUIRE(e->race);
  CHECK(e->race->before == was);
  CHECK(e->race->after == was + 1);
  CHECK(k->full_dumps() == dumps);
  // Accepted once the events moved it along: read from the view.
  race.catch_up(was);
  k->accept_race();
  REQUIRE_FALSE(k->snapshot(s));
  CHECK(k->full_dumps() == dumps);
  // Not accepted (the events showed a commit touching an owned object, or
  // none were read): the next snapshot dumps.
  race.foreign->commit();
  REQUIRE(k->snapshot(s));
  REQUIRE_FALSE(k->snapshot(s));
  CHECK(k->full_dumps() == dumps + 1);
  CHECK(has_nat(s));
}

TEST_CASE("nobody following the events: a raced dump is an error to retry, with no race") {
  Race race;
  race.k->follow_events(nullptr);
  const KernelError e = race.raced_dump();
  CHECK(e.code == EAGAIN);
  CHECK_FALSE(e.race);
}

}  // namespace
}  // namespace netkeep
