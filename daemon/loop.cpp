#include "daemon/loop.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "backends/nft_codec.hpp"
#include "daemon/relevance.hpp"
#include "reconciler/plan_print.hpp"

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
      resync_(clock.timer()) {}

void Loop::start() {
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

void Loop::run_reconcile() {
  dirty_ = false;
  const uint64_t n = ++reconciles_;
  // The periodic resync trusts nothing it kept: the owned nftables objects
  // are dumped again, whatever the view says.
  if (sources_.contains("timer")) kernel_.nft_forget_view();
  Reconcile rc =
      reconcile(opts_.config, reader_, writer_, hooks_.resolve, nullptr, &portforwardings_);
  const double seconds = rc.times.total();  // reading the config to the last write
  // rtnetlink events are judged against the state this reconcile planned
  // from; its own link, address and route writes therefore count as
  // changes and cause one confirming round. (Its nftables commits do not:
  // see nft_event.)
  last_ = std::move(rc.snapshot);

  for (const auto& d : rc.diags) log("reconcile {}: {}", n, d.str());
  for (const auto& w : rc.plan.warnings) log("reconcile {}: warning: {}", n, w);
  for (const auto& why : rc.replanned) log("reconcile {}: planned again: {}", n, why);
  if (rc.snapshot_error)
    log("reconcile {}: error: reading the kernel's state: {}", n, rc.snapshot_error->str());
  for (size_t i : rc.result.applied) {
    log("reconcile {}: {}", n, to_text(rc.plan.ops[i]));
    metrics_.applied(op_kind(rc.plan.ops[i]));
  }
  for (const auto& f : rc.result.failures) log("reconcile {}: error: {}", n, to_text(f));
  // A bad config file is reported, not retried: its inotify event will
  // come when someone fixes it. Kernel errors are retried with backoff.
  const bool failed = rc.snapshot_error || !rc.result.ok();
  metrics_.reconciled(!failed && !has_errors(rc.diags), seconds, unix_now());
  log("reconcile {}: {} ops applied, {} failed, {:.1f} ms (asked for by {}; config {:.1f}, "
      "kernel read {:.1f}, plan {:.1f}, write {:.1f} ms)",
      n, rc.result.applied.size(), rc.result.failures.size(), seconds * 1000, asked_by(),
      rc.times.config * 1000, rc.times.snapshot * 1000, rc.times.plan * 1000,
      rc.times.execute * 1000);

  if (rc.changed() && hooks_.changed) hooks_.changed();
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

}  // namespace netkeep
