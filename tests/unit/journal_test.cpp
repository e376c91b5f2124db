// The rollback journal (backends/journal.hpp): how one process learns that
// another ended the pending change, and how.
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
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

TEST_CASE("journal: what cannot be read is a KernelError naming the file, with its errno") {
  TempRoot root;
  Journal j(root.path);
  Pending p{"id", 1000, 5000, 42, "cfg", {}};
  REQUIRE(!j.begin(p, Actual{}, Touched{}));

  // Something else than netkeep wrote in `pending`.
  {
    std::FILE* f = std::fopen((j.dir() / "pending").c_str(), "w");
    REQUIRE(f);
    std::fputs("{\"id\": 7}", f);
    std::fclose(f);
  }
  auto bad = j.pending();
  REQUIRE(!bad);
  CHECK(bad.error().code == EBADMSG);
  CHECK(bad.error().what == (j.dir() / "pending").string());
  CHECK(bad.error().str() ==
        (j.dir() / "pending").string() + ": not a pending change netkeep reads");

  // A directory where a file should be; a file gone.
  fs::remove(j.dir() / "pending");
  fs::create_directory(j.dir() / "pending");
  auto dir = j.pending();
  REQUIRE(!dir);
  CHECK(dir.error().code == EINVAL);
  CHECK(dir.error().str().rfind((j.dir() / "pending").string() + ": ", 0) == 0);
  fs::remove(j.dir() / "before.json");
  auto before = j.before();
  REQUIRE(!before);
  CHECK(before.error().code == ENOENT);
  CHECK(before.error().str() == (j.dir() / "before.json").string() + ": missing");

  // Writing where a directory cannot be made.
  Journal blocked(root.path / "a-file");
  {
    std::FILE* f = std::fopen((root.path / "a-file").c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
  }
  auto e = blocked.update(p);
  REQUIRE(e);
  CHECK(e->code == ENOTDIR);
  CHECK(e->str().find((root.path / "a-file").string()) == 0);
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
