#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter/nfnetlink.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <memory>
#include <optional>
#include <thread>

#include "backends/linux_kernel.hpp"
#include "backends/resolver.hpp"
#include "daemon/http.hpp"
#include "daemon/loop.hpp"
#include "daemon/notify.hpp"
#include "daemon/watch.hpp"

namespace netkeep {

namespace asio = boost::asio;

namespace {

// Event bytes (as the socket's buffer accounting counts them) per byte of
// a committed batch, with margin.
constexpr size_t kEventsPerBatchByte = 8;

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

class LinuxDaemonKernel : public DaemonKernel {
 public:
  explicit LinuxDaemonKernel(LinuxKernel& k) : k_(k) {}
  std::string name_of(int ifindex) const override { return k_.name_of(ifindex); }
  uint32_t nft_portid() const override { return k_.nft().portid(); }
  void nft_forget_view() override { k_.nft().set_view(std::nullopt); }
  void nft_view_passed(uint32_t gen) override { k_.nft().view_passed(gen); }

 private:
  LinuxKernel& k_;
};

void log_line(const std::string& line) {
  fmt::print(stderr, "netkeep: {}\n", line);
}

// The loop's I/O: the watches' sockets, signals, the metrics server and
// the systemd watchdog, all on one io_context and one thread.
class Daemon {
 public:
  Daemon(const DaemonOptions& o, std::unique_ptr<LinuxKernel> kernel)
      : opts_(o),
        kernel_(std::move(kernel)),
        daemon_kernel_(*kernel_),
        clock_(io_),
        last_good_(o.config, std::filesystem::path(o.root) / "var/lib/netkeep/last-good"),
        loop_(loop_options(o), *kernel_, *kernel_, daemon_kernel_, clock_, hooks(o)),
        signals_(io_, SIGTERM, SIGINT),
        reload_(io_, SIGUSR1, SIGHUP),
        watchdog_(io_),
        config_watch_(o.config),
        rtnl_watch_(NETLINK_ROUTE,
                    {RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE,
                     RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF}),
        nft_watch_(NETLINK_NETFILTER, {NFNLGRP_NFTABLES}) {}

  ~Daemon() {
    if (checker_.joinable()) checker_.join();
    // The watches own their fds; the asio descriptors only borrow them.
    for (auto* d : {&config_fd_, &rtnl_fd_, &nft_fd_, &flows_fd_})
      if (*d) (*d)->release();
  }

  int run() {
    for (const std::string* e : {&config_watch_.error(), &rtnl_watch_.error(), &nft_watch_.error()})
      if (!e->empty())
        log_line("warning: " + *e + "; changes from there are caught by the periodic resync");
    if (!opts_.metrics.empty()) {
      metrics_server_.emplace(io_, [this] { return render_metrics(); });
      if (auto err = metrics_server_->listen(opts_.metrics)) {
        log_line("error: " + *err);
        return 1;
      }
      log_line("serving metrics on " + opts_.metrics);
    }
    signals_.async_wait([this](auto ec, int sig) {
      if (ec) return;
      log_line(fmt::format("signal {}: stopping; the network stays as it is", sig));
      io_.stop();
    });
    wait_reload();
    watch(config_fd_, config_watch_.fd(), "config", [this] { return config_watch_.drain(); });
    watch(rtnl_fd_, rtnl_watch_.fd(), "rtnetlink", [this] {
      return rtnl_watch_.drain([this](const nlmsghdr* nlh) { return loop_.rtnl_event(nlh); });
    });
    watch(nft_fd_, nft_watch_.fd(), "nftables", [this] { return drain_nft(); });
    kernel_->nft().set_events(&nft_events_);
    // A forwarding changed or removed ends its flows in flight: they are
    // looked up in an index kept from conntrack events, not in a dump of
    // the whole table (backends/flow_index.hpp).
    if (auto t = kernel_->track_flows()) {
      flows_fd_.emplace(io_, (*t)->fd());
      keep_flows(**t);
    } else {
      log_line("warning: " + t.error().str() +
               "; a changed forwarding reads the conntrack table in full");
    }
    if (uint64_t usec = watchdog_usec()) keep_watchdog(std::chrono::microseconds(usec / 2));
    loop_.start();
    io_.run();
    return 0;
  }

 private:
  LoopOptions loop_options(const DaemonOptions& o) {
    LoopOptions l;
    l.config = o.config;
    l.resync = o.resync;
    l.confirm = o.confirm;
    if (o.confirm.count()) l.last_good = &last_good_;
    for (const auto& c : o.checks) l.checks.push_back(c.spec);
    return l;
  }

  LoopHooks hooks(const DaemonOptions& o) {
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
    h.log = log_line;
    h.ready = [] { sd_notify("READY=1"); };
    h.changed = [pidfiles = o.notify_pidfiles] {
      for (const auto& w : notify_pidfiles(pidfiles)) log_line("warning: " + w);
    };
    h.resolve = resolve_host;
    return h;
  }

  Drained drain_nft() {
    return nft_watch_.drain([this](const nlmsghdr* nlh) { return loop_.nft_event(nlh); });
  }

  // The nftables backend's questions, answered from the event group.
  class NftEventsOfDaemon : public NftEvents {
   public:
    explicit NftEventsOfDaemon(Daemon& d) : d_(d) {}
    // Under another program's steady stream of commits, the events queued
    // since the last drain are read before each snapshot judges the view;
    // otherwise the view lags the generation and every reconcile dumps in
    // full. (What they ask for is this very reconcile: no new trigger.)
    void catch_up() override {
      if (d_.drain_nft().overrun) {
        log_line("nftables: events were lost (overrun); resyncing in full");
        d_.loop_.nft_events_lost();
      }
    }
    bool untouched(uint32_t before, uint32_t after) override {
      return d_.loop_.untouched(before, after);
    }
    // netkeep's own large commits (a cold start of 10,000 forwardings adds
    // 40,000 set elements) are announced element by element, each event
    // larger than its share of the batch; with room for them, the events
    // are read and recognised as its own instead of being lost to an
    // overrun that forces a full dump.
    void committing(size_t bytes) override {
      d_.nft_watch_.reserve((4 << 20) + kEventsPerBatchByte * bytes);
    }

   private:
    Daemon& d_;
  };

  void wait_reload() {
    // router7's DHCP clients send SIGUSR1 after writing a lease.
    reload_.async_wait([this](auto ec, int) {
      if (ec) return;
      loop_.trigger("signal");
      wait_reload();
    });
  }

  // Watches one event fd: on readable, drain it and tell the loop.
  template <class Drain>
  void watch(std::optional<asio::posix::stream_descriptor>& d, int fd, const char* source,
             Drain drain) {
    if (fd < 0) return;
    if (!d) d.emplace(io_, fd);
    d->async_wait(asio::posix::stream_descriptor::wait_read,
                  [this, &d, fd, source, drain](auto ec) {
                    if (ec) return;
                    loop_.drained(source, drain());
                    watch(d, fd, source, drain);
                  });
  }

  // Reads conntrack events as they come, so that their socket does not
  // overflow between reconciles; they never start one.
  void keep_flows(FlowTracker& t) {
    flows_fd_->async_wait(asio::posix::stream_descriptor::wait_read, [this, &t](auto ec) {
      if (ec) return;
      t.drain();
      keep_flows(t);
    });
  }

  void keep_watchdog(std::chrono::microseconds every) {
    sd_notify("WATCHDOG=1");
    watchdog_.expires_after(every);
    watchdog_.async_wait([this, every](auto ec) {
      if (!ec) keep_watchdog(every);
    });
  }

  std::string render_metrics() {
    auto counters = kernel_->read_counters();
    if (!counters) log_line("metrics: reading counters: " + counters.error().str());
    auto forwardings = kernel_->nft().read_forwarding_counters();
    if (!forwardings)
      log_line("metrics: reading the forwarding maps: " + forwardings.error().str());
    auto pinholes = kernel_->nft().read_pinhole_counters();
    if (!pinholes) log_line("metrics: reading the pinholes: " + pinholes.error().str());
    return loop_.metrics().render(
        counters ? *counters : std::vector<NftCounter>{}, kernel_->nft().full_dumps(),
        forwardings ? *forwardings : std::vector<NftMap>{},
        pinholes ? *pinholes : std::vector<NftKeySet>{}, kernel_->flow_dumps());
  }

  DaemonOptions opts_;
  asio::io_context io_;
  std::unique_ptr<LinuxKernel> kernel_;
  LinuxDaemonKernel daemon_kernel_;
  AsioClock clock_;
  LastGood last_good_;
  Loop loop_;
  asio::signal_set signals_, reload_;
  asio::steady_timer watchdog_;
  ConfigWatch config_watch_;
  NetlinkWatch rtnl_watch_, nft_watch_;
  std::optional<asio::posix::stream_descriptor> config_fd_, rtnl_fd_, nft_fd_, flows_fd_;
  std::optional<MetricsServer> metrics_server_;
  std::thread checker_;
  NftEventsOfDaemon nft_events_{*this};
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
  auto kernel = LinuxKernel::open(options.root);
  if (!kernel) {
    fmt::print(stderr, "netkeep: {}\n", kernel.error().str());
    return 1;
  }
  Daemon d(options, std::move(*kernel));
  return d.run();
}

}  // namespace netkeep
