// The rollback journal (backends/journal.hpp): how one process learns that
// another ended the pending change, and how.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "backends/journal.hpp"

namespace fs = std::filesystem;
using namespace netkeep;

namespace {

struct TempRoot {
  fs::path path;
  TempRoot() {
    char tmpl[] = "/tmp/netkeep-journal-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("journal: begin, pending, end, last") {
  TempRoot root;
  Journal j(root.path);
  CHECK(j.last().empty());
  auto none = j.pending();
  REQUIRE(none);
  CHECK(!*none);

  Pending p{"0123456789abcdef", 1000, 5000, 42, "/etc/netkeep", {"tcp:10.0.0.1:22"}};
  REQUIRE(!j.begin(p, Actual{}, Touched{}));
  auto got = j.pending();
  REQUIRE(got);
  REQUIRE(*got);
  CHECK(**got == p);
  CHECK(j.before());
  CHECK(j.touched());

  j.end("confirmed at 10:00:00: netkeep confirm");
  auto after = j.pending();
  REQUIRE(after);
  CHECK(!*after);
  CHECK(j.last() == "confirmed at 10:00:00: netkeep confirm");
  CHECK(!j.before());  // the snapshot goes with the change
  CHECK(!j.touched());
}

TEST_CASE("journal: a change still being applied round-trips; older journals read as finished") {
  Pending p{"id", 1000, 5000, 42, "cfg", {}};
  p.applying = true;
  auto back = pending_from_json(to_json(p));
  REQUIRE(back);
  CHECK(*back == p);
  auto old = pending_from_json(
      R"({"id": "id", "applied_ms": 1, "deadline_ms": 2, "apply_pid": 3, "config": "c", "checks": []})");
  REQUIRE(old);
  CHECK(!old->applying);
  CHECK(!pending_from_json(
      R"({"id": "id", "applied_ms": 1, "deadline_ms": 2, "apply_pid": 3, "config": "c", "checks": [], "applying": 1})"));
}

// A SIGKILLed apply once left its provisional deadline (60 s past the
// window) in the journal: the watchdog waited a minute on a half-applied
// change.
TEST_CASE("journal: when the watchdog rolls back") {
  Pending p{"id", 1000, 5000, 42, "cfg", {}};
  SUBCASE("the apply finished and lives: half a second after the deadline") {
    CHECK(!watchdog_due(p, true, 4999));
    CHECK(!watchdog_due(p, true, 5499));
    CHECK(watchdog_due(p, true, 5500) == "not confirmed by the deadline (the watchdog)");
  }
  SUBCASE("the apply finished and is gone: at the deadline") {
    CHECK(!watchdog_due(p, false, 4999));
    CHECK(watchdog_due(p, false, 5000));
  }
  SUBCASE("the apply is still executing: nothing before the deadline") {
    p.applying = true;
    CHECK(!watchdog_due(p, true, 4999));
  }
  SUBCASE("the apply died while executing: at once") {
    p.applying = true;
    CHECK(watchdog_due(p, false, 1001) == "the apply ended before it finished (the watchdog)");
  }
}

// The waiting apply polls `pending` without the run lock while `netkeep
// confirm` ends the change; once `pending` is gone, `last` must already say
// how it ended. (CI once saw the last change's "rolled back" there: the
// confirm exited 0 and the apply it confirmed exited 4.)
TEST_CASE("journal: whoever sees the change ended reads its outcome") {
  TempRoot root;
  Journal j(root.path);
  int wrong = 0;
  for (int round = 0; round < 300; round++) {
    j.end("rolled back at 09:59:59: an earlier change");
    REQUIRE(!j.begin(Pending{"id", 1, 2, 3, "cfg", {}}, Actual{}, Touched{}));
    std::atomic<bool> go{false};
    std::thread reader([&] {
      Journal r(root.path);
      go = true;
      for (;;) {
        auto p = r.pending();
        if (p && !*p) break;
      }
      if (r.last() != "confirmed at 10:00:00: netkeep confirm") wrong++;
    });
    while (!go) std::this_thread::yield();
    j.end("confirmed at 10:00:00: netkeep confirm");
    reader.join();
  }
  CHECK(wrong == 0);
}
