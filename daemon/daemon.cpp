#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter/nfnetlink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <memory>
#include <optional>
#include <set>

#include "backends/linux_kernel.hpp"
#include "backends/nft_codec.hpp"
#include "backends/resolver.hpp"
#include "daemon/http.hpp"
#include "daemon/metrics.hpp"
#include "daemon/notify.hpp"
#include "daemon/relevance.hpp"
#include "daemon/watch.hpp"
#include "model/config.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"

namespace netkeep {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// A quiet period after the last event before reconciling, and the longest
// a steady stream of events can defer a reconcile.
constexpr auto kQuiet = 30ms;
constexpr auto kMaxDefer = 250ms;
constexpr auto kMinBackoff = 1s;
constexpr auto kMaxBackoff = 60s;
// Event bytes (as the socket's buffer accounting counts them) per byte of
// a committed batch, with margin.
constexpr size_t kEventsPerBatchByte = 8;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Daemon {
 public:
  Daemon(const DaemonOptions& o, std::unique_ptr<LinuxKernel> kernel)
      : opts_(o),
        kernel_(std::move(kernel)),
        signals_(io_, SIGTERM, SIGINT),
        reload_(io_, SIGUSR1, SIGHUP),
        debounce_(io_),
        retry_(io_),
        resync_(io_),
        watchdog_(io_),
        config_watch_(o.config),
        rtnl_watch_(NETLINK_ROUTE,
                    {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
                     RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF}),
        nft_watch_(NETLINK_NETFILTER, {NFNLGRP_NFTABLES}) {}

  ~Daemon() {
    // The watches own their fds; the asio descriptors only borrow them.
    for (auto* d : {&config_fd_, &rtnl_fd_, &nft_fd_})
      if (*d) (*d)->release();
  }

  int run() {
    for (const std::string* e : {&config_watch_.error(), &rtnl_watch_.error(), &nft_watch_.error()})
      if (!e->empty()) log("warning: {}; changes from there are caught by the periodic resync", *e);
    if (!opts_.metrics.empty()) {
      std::string err;
      metrics_server_.emplace(
          io_, opts_.metrics, [this] { return render_metrics(); }, err);
      if (!err.empty()) {
        log("error: {}", err);
        return 1;
      }
      log("serving metrics on {}", opts_.metrics);
    }
    signals_.async_wait([this](auto ec, int sig) {
      if (ec) return;
      log("signal {}: stopping; the network stays as it is", sig);
      io_.stop();
    });
    wait_reload();
    watch(config_fd_, config_watch_.fd(), "config", [this] { return config_watch_.drain(); });
    watch(rtnl_fd_, rtnl_watch_.fd(), "rtnetlink", [this] {
      return rtnl_watch_.drain([this](const nlmsghdr* nlh) {
        // Until the first snapshot every event counts.
        std::string why;
        bool r = !last_ || rtnl_relevant(
                               nlh, *last_, [this](int i) { return kernel_->name_of(i); }, &why);
        if (r && !why.empty()) reasons_.insert(why);
        return r;
      });
    });
    watch(nft_fd_, nft_watch_.fd(), "nftables", [this] { return drain_nft(); });
    // Under another program's steady stream of commits, the events queued
    // since the last drain are read before each snapshot judges the view;
    // otherwise the view lags the generation and every reconcile dumps in
    // full. (What they ask for is this very reconcile: no new trigger.)
    kernel_->nft().on_snapshot([this] {
      if (drain_nft().overrun) log("nftables: events were lost (overrun); resyncing in full");
    });
    kernel_->nft().on_untouched(
        [this](uint32_t before, uint32_t after) { return untouched(before, after); });
    // netkeep's own large commits (a cold start of 10,000 forwardings adds
    // 40,000 set elements) are announced element by element, each event
    // larger than its share of the batch; with room for them, the events
    // are read and recognised as its own instead of being lost to an
    // overrun that forces a full dump.
    kernel_->nft().on_commit(
        [this](size_t bytes) { nft_watch_.reserve((4 << 20) + kEventsPerBatchByte * bytes); });
    schedule_resync();
    if (uint64_t usec = watchdog_usec()) keep_watchdog(std::chrono::microseconds(usec / 2));
    trigger("start");
    io_.run();
    return 0;
  }

 private:
  template <class... Args>
  void log(fmt::format_string<Args...> f, Args&&... args) {
    fmt::print(stderr, "netkeep: {}\n", fmt::format(f, std::forward<Args>(args)...));
  }

  Drained drain_nft() {
    Drained got = nft_watch_.drain([this](const nlmsghdr* nlh) {
      // The events of netkeep's own commits carry its socket's port id;
      // the view already holds what they did.
      const bool own = nlh->nlmsg_pid == kernel_->nft().portid();
      std::string why;
      bool r = !own && nft_relevant(nlh, &why);
      if (r && reasons_.size() < 3) reasons_.insert("nft " + why);
      follow_generation(nlh, r);
      return r;
    });
    if (got.overrun) {
      kernel_->nft().set_view(std::nullopt);  // what changed is unknown
      lost_events_ = true;
    }
    return got;
  }

  // The view of the owned nftables objects (see nft_view.hpp) holds for
  // as long as the ruleset generation stands still. Each transaction's
  // events end with NEWGEN; one that touched nothing netkeep owns (another
  // program's tables) moves the view along to its generation, so the next
  // reconcile needs no dump of thousands of rules. netkeep's own commits
  // have already updated the view when their events arrive.
  void follow_generation(const nlmsghdr* nlh, bool owned) {
    commit_touched_owned_ |= owned;
    if (auto gen = nft::decode_gen(nlh)) {
      if (!commit_touched_owned_) kernel_->nft().view_passed(*gen);
      // netkeep's own commits touch what it owns too, but never while it
      // dumps; they count like anyone's here, which only costs a retry.
      if (commit_touched_owned_ || nlh->nlmsg_pid == kernel_->nft().portid()) owned_gen_ = *gen;
      // After lost events, the first commit seen whole is the next one.
      if (lost_events_) gap_upto_ = *gen;
      lost_events_ = false;
      seen_gen_ = *gen;
      commit_touched_owned_ = false;
    }
  }

  // See NftKernel::on_untouched. Generations are compared as the kernel's
  // 32-bit counter wraps.
  bool untouched(uint32_t before, uint32_t after) const {
    auto after_or_at = [](uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) >= 0; };
    return !lost_events_ && after_or_at(before, gap_upto_) && after_or_at(seen_gen_, after) &&
           !after_or_at(owned_gen_, before + 1);
  }

  void wait_reload() {
    // router7's DHCP clients send SIGUSR1 after writing a lease.
    reload_.async_wait([this](auto ec, int) {
      if (ec) return;
      trigger("signal");
      wait_reload();
    });
  }

  // Watches one event fd: on readable, drain it and ask for a reconcile.
  template <class Drain>
  void watch(std::optional<asio::posix::stream_descriptor>& d, int fd, const char* source,
             Drain drain) {
    if (fd < 0) return;
    if (!d) d.emplace(io_, fd);
    d->async_wait(asio::posix::stream_descriptor::wait_read,
                  [this, &d, fd, source, drain](auto ec) {
                    if (ec) return;
                    Drained got = drain();
                    if (got.overrun)
                      log("{}: events were lost (overrun); resyncing in full", source);
                    if (got.events || got.overrun) trigger(source);
                    watch(d, fd, source, drain);
                  });
  }

  void schedule_resync() {
    resync_.expires_after(opts_.resync);
    resync_.async_wait([this](auto ec) {
      if (ec) return;
      trigger("timer");
      schedule_resync();
    });
  }

  void keep_watchdog(std::chrono::microseconds every) {
    sd_notify("WATCHDOG=1");
    watchdog_.expires_after(every);
    watchdog_.async_wait([this, every](auto ec) {
      if (!ec) keep_watchdog(every);
    });
  }

  // Marks the state dirty. The reconcile runs once events have been quiet
  // for kQuiet, and never later than kMaxDefer after the first of them.
  void trigger(const char* source) {
    metrics_.event(source);
    sources_.insert(source);
    auto now = std::chrono::steady_clock::now();
    if (!dirty_) first_event_ = now;
    dirty_ = true;
    retry_.cancel();  // any new event retries at once
    auto at = std::min(now + kQuiet, first_event_ + kMaxDefer);
    debounce_.expires_at(at);
    debounce_.async_wait([this](auto ec) {
      // A handler already queued when the timer was re-armed still runs;
      // the reconcile before it has taken its events (and sources) along.
      if (!ec && dirty_) run_reconcile();
    });
  }

  void run_reconcile() {
    dirty_ = false;
    const uint64_t n = ++reconciles_;
    // The periodic resync trusts nothing it kept: the owned nftables objects
    // are dumped again, whatever the view says.
    if (sources_.contains("timer")) kernel_->nft().set_view(std::nullopt);
    Reconcile rc =
        reconcile(opts_.config, *kernel_, *kernel_, resolve_host, nullptr, &portforwardings_);
    const double seconds = rc.times.total();  // reading the config to the last write
    // rtnetlink events are judged against the state this reconcile planned
    // from; its own link, address and route writes therefore count as
    // changes and cause one confirming round. (Its nftables commits do not:
    // see the nftables watch.)
    last_ = std::move(rc.snapshot);

    for (const auto& d : rc.diags) log("reconcile {}: {}", n, d.str());
    for (const auto& w : rc.plan.warnings) log("reconcile {}: warning: {}", n, w);
    for (const auto& why : rc.replanned) log("reconcile {}: planned again: {}", n, why);
    if (!rc.snapshot_error.empty())
      log("reconcile {}: error: reading the kernel's state: {}", n, rc.snapshot_error);
    for (size_t i : rc.result.applied) {
      log("reconcile {}: {}", n, to_text(rc.plan.ops[i]));
      metrics_.applied(op_kind(rc.plan.ops[i]));
    }
    for (const auto& f : rc.result.failures) log("reconcile {}: error: {}", n, to_text(f));
    // A bad config file is reported, not retried: its inotify event will
    // come when someone fixes it. Kernel errors are retried with backoff.
    const bool failed = !rc.snapshot_error.empty() || !rc.result.ok();
    metrics_.reconciled(!failed && !has_errors(rc.diags), seconds, unix_now());
    std::string why;
    for (const auto& src : sources_) why += (why.empty() ? "" : ",") + src;
    size_t shown = 0;
    for (const auto& r : reasons_)
      if (shown++ < 3) why += (shown == 1 ? ": " : "; ") + r;
    if (reasons_.size() > 3) why += fmt::format("; {} more", reasons_.size() - 3);
    sources_.clear();
    reasons_.clear();
    log("reconcile {}: {} ops applied, {} failed, {:.1f} ms (asked for by {}; config {:.1f}, "
        "kernel read {:.1f}, plan {:.1f}, write {:.1f} ms)",
        n, rc.result.applied.size(), rc.result.failures.size(), seconds * 1000, why,
        rc.times.config * 1000, rc.times.snapshot * 1000, rc.times.plan * 1000,
        rc.times.execute * 1000);

    if (rc.changed())
      for (const auto& w : notify_pidfiles(opts_.notify_pidfiles)) log("warning: {}", w);
    if (!ready_sent_) {
      ready_sent_ = true;
      sd_notify("READY=1");
    }
    if (failed) {
      backoff_ = backoff_.count() ? std::min(backoff_ * 2, std::chrono::seconds(kMaxBackoff))
                                  : kMinBackoff;
      log("reconcile {}: retrying in {} s", n, backoff_.count());
      retry_.expires_after(backoff_);
      retry_.async_wait([this](auto ec) {
        if (!ec) trigger("retry");
      });
    } else {
      backoff_ = 0s;
    }
  }

  std::string render_metrics() {
    std::vector<NftCounter> counters;
    if (auto e = kernel_->read_counters(counters)) log("metrics: reading counters: {}", e->message);
    std::vector<NftMap> forwardings;
    if (auto e = kernel_->nft().read_forwarding_counters(forwardings))
      log("metrics: reading the forwarding maps: {}", e->message);
    return metrics_.render(counters, kernel_->nft().full_dumps(), forwardings);
  }

  DaemonOptions opts_;
  asio::io_context io_;
  std::unique_ptr<LinuxKernel> kernel_;
  asio::signal_set signals_, reload_;
  asio::steady_timer debounce_, retry_, resync_, watchdog_;
  ConfigWatch config_watch_;
  NetlinkWatch rtnl_watch_, nft_watch_;
  std::optional<asio::posix::stream_descriptor> config_fd_, rtnl_fd_, nft_fd_;
  std::optional<MetricsServer> metrics_server_;
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
  std::optional<Actual> last_;
  // The last portforwardings.json, so an edit is re-read incrementally.
  PortForwardingsMemo portforwardings_;
  std::set<std::string> sources_;  // what asked for the next reconcile
  std::set<std::string> reasons_;  // which kernel changes, for the log
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  // Each reconcile allocates and frees the same large buffers (the parsed
  // config, thousands of rules, the batch). By default glibc maps such
  // buffers fresh and unmaps them on free, so every reconcile paid for
  // page faults on megabytes of zeroed memory. Kept in the heap instead,
  // they are reused; the daemon's size stays at its largest reconcile's.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  // The soft descriptor limit up to the hard one (systemd's default soft
  // limit is 1,024): the metrics server's connections are capped, and the
  // config files, sysctls and netlink sockets must always find one.
  struct rlimit fds {};
  if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    setrlimit(RLIMIT_NOFILE, &fds);
  }
  std::string err;
  auto kernel = LinuxKernel::open(options.root, err);
  if (!kernel) {
    fmt::print(stderr, "netkeep: {}\n", err);
    return 1;
  }
  Daemon d(options, std::move(kernel));
  return d.run();
}

}  // namespace netkeep
