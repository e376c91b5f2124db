#include "daemon/loop.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "backends/nft_codec.hpp"
#include "daemon/reconcile_log.hpp"
#include "daemon/relevance.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile_memo.hpp"

namespace netkeep {

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Loop::Loop(LoopOptions options, KernelReader& reader, KernelWriter& writer, DaemonKernel& kernel,
           Clock& clock, LoopHooks hooks)
    : opts_(std::move(options)),
      reader_(reader),
      writer_(writer),
      kernel_(kernel),
      clock_(clock),
      hooks_(std::move(hooks)),
      debounce_(clock.timer()),
      retry_(clock.timer()),
      resync_(clock.timer()),
      memo_(std::make_unique<ReconcileMemo>()),
      round_(clock.timer()) {}

Loop::~Loop() = default;

void Loop::start() {
  if (opts_.last_good) metrics_.last_good(opts_.last_good->kept_at());
  schedule_resync();
  trigger("start");
}

void Loop::schedule_resync() {
  resync_->at(clock_.now() + opts_.resync, [this] {
    trigger("timer");
    schedule_resync();
  });
}

// Marks the state dirty. The reconcile runs once events have been quiet
// for kQuiet, and never later than kMaxDefer after the first of them.
void Loop::trigger(const char* source) {
  metrics_.event(source);
  sources_.insert(source);
  const auto now = clock_.now();
  if (!dirty_) first_event_ = now;
  dirty_ = true;
  retry_->cancel();  // any new event retries at once
  debounce_->at(std::min(now + kQuiet, first_event_ + kMaxDefer), [this] {
    // Asio still runs a handler that was queued when the timer was
    // re-armed; the reconcile before it has taken its events along.
    if (dirty_) run_reconcile();
  });
}

bool Loop::rtnl_event(const nlmsghdr* nlh) {
  // Until the first snapshot every event counts.
  if (!last_) return true;
  std::string why;
  const bool r = rtnl_relevant(
      nlh, *last_, [this](int i) { return kernel_.name_of(i); }, &why);
  if (r && !why.empty()) reasons_.insert(why);
  return r;
}

bool Loop::nft_event(const nlmsghdr* nlh) {
  const bool own = nlh->nlmsg_pid == kernel_.nft_portid();
  std::string why;
  const bool r = !own && nft_relevant(nlh, &why);
  if (r && reasons_.size() < 3) reasons_.insert("nft " + why);
  follow_generation(nlh, r);
  return r;
}

void Loop::drained(const char* source, Drained got) {
  if (got.overrun) {
    log("{}: events were lost (overrun); resyncing in full", source);
    if (std::string_view(source) == "nftables") nft_events_lost();
  }
  if (got.events || got.overrun) trigger(source);
}

void Loop::nft_events_lost() {
  kernel_.nft_forget_view();  // what changed is unknown
  lost_events_ = true;
}

// The view of the owned nftables objects (see nft_view.hpp) holds for as
// long as the ruleset generation stands still. Each transaction's events
// end with NEWGEN; one that touched nothing netkeep owns (another
// program's tables) moves the view along to its generation, so the next
// reconcile needs no dump of thousands of rules. netkeep's own commits
// have already updated the view when their events arrive.
void Loop::follow_generation(const nlmsghdr* nlh, bool owned) {
  commit_touched_owned_ |= owned;
  if (auto gen = nft::decode_gen(nlh)) {
    if (!commit_touched_owned_) kernel_.nft_view_passed(*gen);
    // netkeep's own commits touch what it owns too, but never while it
    // dumps; they count like anyone's here, which only costs a retry.
    if (commit_touched_owned_ || nlh->nlmsg_pid == kernel_.nft_portid()) owned_gen_ = *gen;
    // After lost events, the first commit seen whole is the next one.
    if (lost_events_) gap_upto_ = *gen;
    lost_events_ = false;
    seen_gen_ = *gen;
    commit_touched_owned_ = false;
  }
}

// Generations are compared as the kernel's 32-bit counter wraps.
bool Loop::untouched(uint32_t before, uint32_t after) const {
  auto after_or_at = [](uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; };
  return !lost_events_ && after_or_at(before, gap_upto_) && after_or_at(seen_gen_, after) &&
         !after_or_at(owned_gen_, before + 1);
}

// "config,rtnetlink: <reason>; <reason>; 2 more", and clears both sets.
std::string Loop::asked_by() {
  std::string why;
  for (const auto& src : sources_) why += (why.empty() ? "" : ",") + src;
  size_t shown = 0;
  for (const auto& r : reasons_)
    if (shown++ < 3) why += (shown == 1 ? ": " : "; ") + r;
  if (reasons_.size() > 3) why += fmt::format("; {} more", reasons_.size() - 3);
  sources_.clear();
  reasons_.clear();
  return why;
}

Prepared Loop::prepare_now(const std::filesystem::path& config) {
  ReconcileMemo* memo = config == opts_.config ? memo_.get() : nullptr;
  // Under another program's steady stream of commits (100 a second in
  // tools/storm) a read of the ruleset races some; those the events show
  // touched nothing owned cost no dump. Only the kernel is read again (the
  // config files and endpoint names stand); a few tries, then the error
  // stands (and is retried with backoff).
  if (hooks_.catch_up) hooks_.catch_up();
  Prepared p = prepare(config, reader_, hooks_.resolve, memo);
  for (int tries = 1; p.snapshot_error && p.snapshot_error->race && tries < 8; tries++) {
    if (hooks_.catch_up) hooks_.catch_up();
    const NftRace race = *p.snapshot_error->race;
    if (untouched(race.before, race.after)) kernel_.nft_accept_race();
    read_again(p, reader_);
  }
  return p;
}

void Loop::run_reconcile() {
  dirty_ = false;
  const uint64_t n = ++reconciles_;
  // The periodic resync trusts nothing it kept: the owned nftables objects
  // are dumped again, whatever the view says.
  if (sources_.contains("timer")) kernel_.nft_forget_view();
  // run --confirm: while the config files are the ones rolled back from,
  // the last good config is what the kernel is held to.
  const bool confirming = opts_.confirm.count() > 0 && opts_.last_good;
  std::string fingerprint;
  std::filesystem::path config = opts_.config;
  if (confirming) {
    fingerprint = opts_.last_good->fingerprint();
    if (fingerprint == rejected_)
      config = opts_.last_good->dir();
    else
      rejected_.clear();
  }
  Reconcile rc = commit(prepare_now(config), reader_, writer_);
  const double seconds = rc.times.total();  // reading the config to the last write
  // rtnetlink events are judged against the state this reconcile planned
  // from; its own link, address and route writes therefore count as
  // changes and cause one confirming round. (Its nftables commits do not:
  // see nft_event.)
  last_ = std::move(rc.snapshot);

  for (const auto& line : reconcile_log_lines({n, asked_by()}, rc)) log("{}", line);
  for (const Op& op : rc.applied_before) metrics_.applied(op_kind(op));
  for (size_t i : rc.result.applied) metrics_.applied(op_kind(rc.plan.ops[i]));
  // A bad config file is reported, not retried: its inotify event will
  // come when someone fixes it. Kernel errors are retried with backoff.
  const bool failed = rc.snapshot_error || !rc.result.ok();
  metrics_.reconciled(!failed && !has_errors(rc.diags), seconds, unix_now());
  metrics_.leases(rc.lease4_valid_until, rc.lease6_valid_until);
  metrics_.flows_ended(rc.result.flows_ended_tcp, rc.result.flows_ended_udp);

  if (rc.changed() && hooks_.changed) hooks_.changed();
  if (confirming && !failed && !has_errors(rc.diags) && config == opts_.config)
    judge_config(fingerprint, rc.changed());
  if (!ready_sent_) {
    ready_sent_ = true;
    if (hooks_.ready) hooks_.ready();
  }
  if (!failed) {
    backoff_ = std::chrono::seconds(0);
    return;
  }
  backoff_ = backoff_.count() ? std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff))
                              : std::chrono::seconds(kMinBackoff);
  log("reconcile {}: retrying in {} s", n, backoff_.count());
  retry_->at(clock_.now() + backoff_, [this] { trigger("retry"); });
}

// After a reconcile of the live config files that went well: a config
// whose changes are still to be confirmed gets a window; one that changed
// nothing in the kernel (the first start, or an edit that makes no
// difference) is as good as what it replaces.
void Loop::judge_config(const std::string& fingerprint, bool changed) {
  const std::string kept = opts_.last_good->kept();
  if (window_) {
    if (fingerprint == window_->fingerprint) return;  // the window runs on
    if (fingerprint == kept) {
      window_.reset();  // the files were put back as they were: nothing to confirm
      round_->cancel();
      metrics_.confirm_pending(false);
      return;
    }
    return start_window(fingerprint);  // edited again: confirm the new files
  }
  if (fingerprint == kept) return;
  if (kept.empty()) return keep_good("the first config applied");
  if (!changed) return keep_good("it changes nothing in the kernel");
  start_window(fingerprint);
}

void Loop::keep_good(const std::string& why) {
  if (auto e = opts_.last_good->keep()) {
    log("confirm: error: keeping the last good config in {}: {}", opts_.last_good->dir().string(),
        e->str());
    return;
  }
  metrics_.last_good(opts_.last_good->kept_at());
  log("confirm: the config is now the last good one ({})", why);
}

void Loop::start_window(const std::string& fingerprint) {
  Window w;
  w.id = ++windows_;
  w.fingerprint = fingerprint;
  w.start = clock_.now();
  w.deadline = w.start + opts_.confirm;
  w.verdict = CheckVerdict(opts_.checks.size());
  window_ = std::move(w);
  metrics_.confirm_pending(true);
  log("confirm: the new config must pass its checks within {} s, or the last good one comes back",
      opts_.confirm.count());
  check_round();
}

void Loop::check_round() {
  if (!window_ || !hooks_.check_round) return;
  const uint64_t id = window_->id;
  hooks_.check_round([this, id](std::vector<CheckResult> r) { round_done(id, r); });
}

// As apply --confirm judges its checks: all passing three rounds in a row
// confirms; one that has not passed once by half the window, or no
// confirmation by its end, rolls back.
void Loop::round_done(uint64_t id, const std::vector<CheckResult>& results) {
  if (!window_ || window_->id != id) return;  // a window that ended meanwhile
  Window& w = *window_;
  for (size_t i : w.verdict.round(results))
    log("confirm: check {}: {} ({})", opts_.checks[i], results[i].ok ? "passes" : "fails",
        results[i].saw);
  using std::chrono::milliseconds;
  const auto now = clock_.now();
  const milliseconds window(opts_.confirm);
  const std::string verdict = w.verdict.decide(
      opts_.checks, std::chrono::duration_cast<milliseconds>(now - w.start), window);
  if (verdict.starts_with("confirm: ")) {
    window_.reset();
    metrics_.confirm_pending(false);
    return keep_good(verdict.substr(9));
  }
  if (verdict.starts_with("rollback: ")) return revert("check", verdict.substr(10));
  if (now >= w.deadline) return revert("deadline", "the checks did not confirm it in time");
  round_->at(now + CheckVerdict::pause(window), [this] { check_round(); });
}

void Loop::revert(const std::string& kind, const std::string& why) {
  rejected_ = window_->fingerprint;
  window_.reset();
  round_->cancel();
  metrics_.confirm_pending(false);
  metrics_.rolled_back(kind);
  if (opts_.last_good->kept().empty()) {
    log("confirm: ROLLBACK impossible: {}, and there is no last good config to go back to", why);
    return;
  }
  log("confirm: ROLLBACK to the last good config: {}; the config files are not applied again "
      "until one of them changes",
      why);
  trigger("rollback");
}

}  // namespace netkeep
