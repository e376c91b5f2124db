#include "daemon/shell.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <thread>

#include "backends/resolver.hpp"
#include "daemon/http.hpp"
#include "daemon/last_good.hpp"
#include "daemon/notify.hpp"

namespace netkeep {

namespace asio = boost::asio;

namespace {

// For sources that judge their events themselves (the config files, the
// flow index): every one counts.
bool counts_all(const nlmsghdr*) {
  return true;
}

class AsioTimer : public Timer {
 public:
  explicit AsioTimer(asio::io_context& io) : t_(io) {}
  void at(std::chrono::steady_clock::time_point when, std::function<void()> fire) override {
    t_.expires_at(when);
    t_.async_wait([fire = std::move(fire)](auto ec) {
      if (!ec) fire();
    });
  }
  void cancel() override { t_.cancel(); }

 private:
  asio::steady_timer t_;
};

class AsioClock : public Clock {
 public:
  explicit AsioClock(asio::io_context& io) : io_(io) {}
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::unique_ptr<Timer> timer() override { return std::make_unique<AsioTimer>(io_); }

 private:
  asio::io_context& io_;
};

}  // namespace

class Shell::Impl {
 public:
  Impl(const DaemonOptions& options, ShellKernel& kernel, ShellSources sources, Log log,
       std::function<uint64_t()> log_dropped);
  ~Impl();
  std::optional<int> start();
  std::string render_metrics();

  DaemonOptions opts_;
  asio::io_context io_;
  ShellKernel& kernel_;
  ShellSources sources_;
  Log log_;
  std::function<uint64_t()> log_dropped_;
  std::unique_ptr<Clock> clock_;
  LastGood last_good_;
  Loop loop_;

 private:
  LoopOptions loop_options(const DaemonOptions& o);
  LoopHooks hooks(const DaemonOptions& o);
  void wait_reload();
  void watch(Watch& w, std::optional<asio::posix::stream_descriptor>& d, const char* source,
             Relevant relevant);
  void keep_flows(Watch& w);
  void keep_watchdog(std::chrono::microseconds every);
  void catch_up_nft();

  asio::signal_set signals_, reload_;
  asio::steady_timer watchdog_;
  // Borrowed descriptors: the sources own their fds.
  std::optional<asio::posix::stream_descriptor> config_fd_, rtnl_fd_, nft_fd_, flows_fd_;
  std::optional<MetricsServer> metrics_server_;
  std::thread checker_;
};

Shell::Impl::Impl(const DaemonOptions& o, ShellKernel& kernel, ShellSources sources, Log log,
                  std::function<uint64_t()> log_dropped)
    : opts_(o),
      kernel_(kernel),
      sources_(std::move(sources)),
      log_(std::move(log)),
      log_dropped_(std::move(log_dropped)),
      clock_(std::make_unique<AsioClock>(io_)),
      last_good_(o.config, std::filesystem::path(o.root) / "var/lib/netkeep/last-good"),
      loop_(loop_options(o), kernel.reader(), kernel.writer(), kernel, *clock_, hooks(o)),
      signals_(io_, SIGTERM, SIGINT),
      reload_(io_, SIGUSR1, SIGHUP),
      watchdog_(io_) {}

Shell::Impl::~Impl() {
  kernel_.follow_nft_events(nullptr);
  if (checker_.joinable()) checker_.join();
  for (auto* d : {&config_fd_, &rtnl_fd_, &nft_fd_, &flows_fd_})
    if (*d) (*d)->release();
}

std::optional<int> Shell::Impl::start() {
  for (const Watch* w : {sources_.config.get(), sources_.rtnl.get(), sources_.nft.get()})
    if (!w->error().empty())
      log_("warning: " + w->error() + "; changes from there are caught by the periodic resync");
  if (!opts_.metrics.empty()) {
    metrics_server_.emplace(io_, [this] { return render_metrics(); });
    if (auto err = metrics_server_->listen(opts_.metrics)) {
      log_("error: " + *err);
      return 1;
    }
    log_("serving metrics on " + opts_.metrics);
  }
  signals_.async_wait([this](auto ec, int sig) {
    if (ec) return;
    log_(fmt::format("signal {}: stopping; the network stays as it is", sig));
    io_.stop();
  });
  wait_reload();
  watch(*sources_.config, config_fd_, "config", counts_all);
  watch(*sources_.rtnl, rtnl_fd_, "rtnetlink",
        [this](const nlmsghdr* nlh) { return loop_.rtnl_event(nlh); });
  watch(*sources_.nft, nft_fd_, "nftables",
        [this](const nlmsghdr* nlh) { return loop_.nft_event(nlh); });
  kernel_.follow_nft_events(sources_.nft.get());
  // A forwarding changed or removed ends its flows in flight: they are
  // looked up in an index kept from conntrack events, not in a dump of
  // the whole table (backends/flow_index.hpp).
  if (auto flows = kernel_.track_flows()) {
    flows_fd_.emplace(io_, (*flows)->fd());
    keep_flows(**flows);
  } else {
    log_("warning: " + flows.error().str() +
         "; a changed forwarding reads the conntrack table in full");
  }
  if (uint64_t usec = watchdog_usec()) keep_watchdog(std::chrono::microseconds(usec / 2));
  loop_.start();
  return std::nullopt;
}

LoopOptions Shell::Impl::loop_options(const DaemonOptions& o) {
  LoopOptions l;
  l.config = o.config;
  l.resync = o.resync;
  l.confirm = o.confirm;
  if (o.confirm.count()) l.last_good = &last_good_;
  for (const auto& c : o.checks) l.checks.push_back(c.spec);
  return l;
}

LoopHooks Shell::Impl::hooks(const DaemonOptions& o) {
  LoopHooks h;
  // The checks run on a thread of their own (a check may take seconds);
  // their results come back to the loop's thread.
  h.check_round = [this](std::function<void(std::vector<CheckResult>)> done) {
    if (checker_.joinable()) checker_.join();  // the last round's, done by now
    checker_ = std::thread([this, done = std::move(done)] {
      std::vector<CheckResult> results;
      for (const auto& c : opts_.checks) results.push_back(run_check(c, c.timeout));
      asio::post(io_, [done, results = std::move(results)] { done(results); });
    });
  };
  h.log = log_;
  h.catch_up = [this] { catch_up_nft(); };
  h.ready = [] { sd_notify("READY=1"); };
  h.changed = [this, pidfiles = o.notify_pidfiles] {
    for (const auto& w : notify_pidfiles(pidfiles)) log_("warning: " + w);
  };
  h.resolve = resolve_host;
  return h;
}

// Under another program's steady stream of commits, the events queued
// since the socket was last polled are read before each snapshot judges
// the view; otherwise the view lags the generation and every reconcile
// dumps in full.
void Shell::Impl::catch_up_nft() {
  if (sources_.nft->drain([this](const nlmsghdr* nlh) { return loop_.nft_event(nlh); }).overrun) {
    log_("nftables: events were lost (overrun); resyncing in full");
    loop_.nft_events_lost();
  }
}

void Shell::Impl::wait_reload() {
  // router7's DHCP clients send SIGUSR1 after writing a lease.
  reload_.async_wait([this](auto ec, int) {
    if (ec) return;
    loop_.trigger("signal");
    wait_reload();
  });
}

// Waits on one source: on readable, drains it and tells the loop.
void Shell::Impl::watch(Watch& w, std::optional<asio::posix::stream_descriptor>& d,
                        const char* source, Relevant relevant) {
  if (w.fd() < 0) return;
  if (!d) d.emplace(io_, w.fd());
  d->async_wait(asio::posix::stream_descriptor::wait_read,
                [this, &w, &d, source, relevant = std::move(relevant)](auto ec) mutable {
                  if (ec) return;
                  loop_.drained(source, w.drain(relevant));
                  watch(w, d, source, std::move(relevant));
                });
}

// Reads conntrack events as they come, so that their socket does not
// overflow between reconciles; they never start one.
void Shell::Impl::keep_flows(Watch& w) {
  flows_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &w](auto ec) {
    if (ec) return;
    w.drain(counts_all);
    keep_flows(w);
  });
}

void Shell::Impl::keep_watchdog(std::chrono::microseconds every) {
  sd_notify("WATCHDOG=1");
  watchdog_.expires_after(every);
  watchdog_.async_wait([this, every](auto ec) {
    if (!ec) keep_watchdog(every);
  });
}

std::string Shell::Impl::render_metrics() {
  auto counters = kernel_.read_counters();
  if (!counters) log_("metrics: reading counters: " + counters.error().str());
  auto forwardings = kernel_.read_forwarding_counters();
  if (!forwardings) log_("metrics: reading the forwarding maps: " + forwardings.error().str());
  auto pinholes = kernel_.read_pinhole_counters();
  if (!pinholes) log_("metrics: reading the pinholes: " + pinholes.error().str());
  return loop_.metrics().render(
             counters ? *counters : std::vector<NftCounter>{}, kernel_.nft_full_dumps(),
             forwardings ? *forwardings : std::vector<NftMap>{},
             pinholes ? *pinholes : std::vector<NftKeySet>{}, kernel_.flow_dumps()) +
         log_metrics(log_dropped_ ? log_dropped_() : 0);
}

Shell::Shell(const DaemonOptions& options, ShellKernel& kernel, ShellSources sources, Log log,
             std::function<uint64_t()> log_dropped)
    : impl_(std::make_unique<Impl>(options, kernel, std::move(sources), std::move(log),
                                   std::move(log_dropped))) {}

Shell::~Shell() = default;

int Shell::run() {
  if (auto failed = start()) return *failed;
  impl_->io_.run();
  return 0;
}

std::optional<int> Shell::start() {
  return impl_->start();
}

void Shell::run_one_for(std::chrono::milliseconds limit) {
  impl_->io_.run_one_for(limit);
}

bool Shell::stopped() const {
  return impl_->io_.stopped();
}

const Loop& Shell::loop() const {
  return impl_->loop_;
}

std::string Shell::render_metrics() {
  return impl_->render_metrics();
}

}  // namespace netkeep
