// The daemon's decisions, apart from its I/O: which events ask for a
// reconcile, when it runs (debounce), when a failed one is retried
// (backoff), which nftables commits leave the view of the owned objects
// standing, and what is logged. shell.cpp feeds it events read from real
// sockets and fires its timers from Boost.Asio; the unit tests feed it
// crafted events and a manual clock, against the fake kernel.
//
//   config ───┐
//   rtnetlink ├─▶ trigger(source) ─▶ debounce ─▶ reconcile ─▶ log, metrics, hooks
//   nftables ─┤                          ▲            │ failed
//   signals ──┤                          └── backoff ◀┘ (1 s doubling to 60 s)
//   resync ───┘
#pragma once

#include <linux/netlink.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>

#include "daemon/checks.hpp"
#include "daemon/last_good.hpp"
#include "daemon/metrics.hpp"
#include "daemon/watch.hpp"
#include "model/config.hpp"
#include "reconciler/kernel.hpp"
#include "reconciler/reconcile.hpp"

namespace netkeep {

// A one-shot timer: `at` replaces any deadline still pending.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void at(std::chrono::steady_clock::time_point when, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::unique_ptr<Timer> timer() = 0;
};

// What the loop asks of the kernel backend beyond reading and writing.
class DaemonKernel {
 public:
  virtual ~DaemonKernel() = default;
  // A link's name by ifindex, to judge rtnetlink events.
  virtual std::string name_of(int ifindex) const = 0;
  // The netlink port id of netkeep's own nftables commits: their events
  // carry it, and the view already holds what they did.
  virtual uint32_t nft_portid() const = 0;
  // The next snapshot dumps the owned nftables objects in full.
  virtual void nft_forget_view() = 0;
  // A commit that touched nothing netkeep owns: the view holds at `gen`.
  virtual void nft_view_passed(uint32_t gen) = 0;
  // The last snapshot raced commits that the events show touched nothing
  // netkeep owns (KernelError::race): what it read is the view.
  virtual void nft_accept_race() = 0;
};

struct LoopOptions {
  std::filesystem::path config = "/perm";
  std::chrono::seconds resync{300};
  // run --confirm: a config that changes the kernel must pass every check
  // within `confirm`, or the daemon reconciles to `last_good` instead and
  // leaves the config files alone until one of them changes.
  std::chrono::seconds confirm{0};
  LastGood* last_good = nullptr;
  std::vector<std::string> checks;  // as given, for the log
};

struct LoopHooks {
  std::function<void(const std::string&)> log;  // one line, without the "netkeep: " prefix
  // Reads the nftables events queued so far (each goes to nft_event), so
  // that the view has followed every commit they announce: before each
  // snapshot, and to judge a race. What they ask for is the reconcile
  // about to run: no trigger.
  std::function<void()> catch_up;
  std::function<void()> ready;                  // after the first reconcile
  std::function<void()> changed;                // after a reconcile that applied something
  Resolver resolve;                             // WireGuard endpoint hostnames
  // Runs every check once, off the loop's thread, then `done` on it with
  // a result per check (run --confirm).
  std::function<void(std::function<void(std::vector<CheckResult>)> done)> check_round;
};

class Loop {
 public:
  // A quiet period after the last event before reconciling, and the
  // longest a steady stream of events can defer a reconcile.
  static constexpr auto kQuiet = std::chrono::milliseconds(30);
  static constexpr auto kMaxDefer = std::chrono::milliseconds(250);
  static constexpr auto kMinBackoff = std::chrono::seconds(1);
  static constexpr auto kMaxBackoff = std::chrono::seconds(60);

  ~Loop();
  Loop(LoopOptions options, KernelReader& reader, KernelWriter& writer, DaemonKernel& kernel,
       Clock& clock, LoopHooks hooks);

  // Arms the periodic resync and asks for the first reconcile.
  void start();
  // Something may have changed; `source` names it in the log and metrics.
  void trigger(const char* source);
  // Whether one event can change a plan (the watches count these).
  bool rtnl_event(const nlmsghdr* nlh);
  bool nft_event(const nlmsghdr* nlh);
  // What a watch read: relevant events or an overrun ask for a reconcile.
  void drained(const char* source, Drained got);
  // nftables events were lost: nothing is known of the owned objects.
  void nft_events_lost();
  // Whether the events read so far show that every commit after
  // generation `before`, up to `after`, touched nothing netkeep owns
  // (false when they do not reach `after`): a race (NftRace) to accept.
  bool untouched(uint32_t before, uint32_t after) const;

  const Metrics& metrics() const { return metrics_; }
  uint64_t reconciles() const { return reconciles_; }
  std::chrono::seconds backoff() const { return backoff_; }

 private:
  template <class... Args>
  void log(fmt::format_string<Args...> f, Args&&... args) {
    if (hooks_.log) hooks_.log(fmt::format(f, std::forward<Args>(args)...));
  }
  void schedule_resync();
  // run --confirm: the window after a reconcile applied a new config.
  void judge_config(const std::string& fingerprint, bool changed);
  void keep_good(const std::string& why);
  void start_window(const std::string& fingerprint);
  void check_round();
  void round_done(uint64_t window, const std::vector<CheckResult>& results);
  void revert(const std::string& kind, const std::string& why);
  void run_reconcile();
  // prepare, after the events queued so far; a race they vouch for is
  // accepted and the kernel read again.
  Prepared prepare_now(const std::filesystem::path& config);
  void follow_generation(const nlmsghdr* nlh, bool owned);
  std::string asked_by();

  LoopOptions opts_;
  KernelReader& reader_;
  KernelWriter& writer_;
  DaemonKernel& kernel_;
  Clock& clock_;
  LoopHooks hooks_;
  std::unique_ptr<Timer> debounce_, retry_, resync_;
  Metrics metrics_;
  bool dirty_ = false, ready_sent_ = false;
  bool commit_touched_owned_ = false;  // by the nftables events since the last NEWGEN
  // The last generation the events announced, the last that touched an
  // owned object, and the last of which events may have been lost (an
  // overrun: until the next generation is seen, nothing is known).
  uint32_t seen_gen_ = 0, owned_gen_ = 0, gap_upto_ = 0;
  bool lost_events_ = true;  // nothing seen yet
  std::chrono::steady_clock::time_point first_event_;
  std::chrono::seconds backoff_{0};
  uint64_t reconciles_ = 0;
  // The state the last reconcile planned from; events are judged against it.
  std::optional<Actual> last_;
  // What the last reconcile read and planned, so that an edit of a long
  // portforwardings.json or firewall.json is read and planned as the edit
  // (held by pointer: its definition brings simdjson along).
  std::unique_ptr<ReconcileMemo> memo_;
  std::set<std::string> sources_;  // what asked for the next reconcile
  std::set<std::string> reasons_;  // which kernel changes, for the log

  struct Window {
    uint64_t id = 0;
    std::string fingerprint;  // of the config being confirmed
    std::chrono::steady_clock::time_point start, deadline;
    CheckVerdict verdict{0};
  };
  std::optional<Window> window_;
  uint64_t windows_ = 0;
  std::unique_ptr<Timer> round_;
  std::string rejected_;  // a config rolled back from, not applied again until it changes
};

}  // namespace netkeep
