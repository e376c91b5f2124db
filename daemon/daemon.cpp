#include "daemon/daemon.hpp"

#include <fmt/format.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <memory>

#include "backends/linux_kernel.hpp"
#include "daemon/log.hpp"
#include "daemon/shell.hpp"
#include "daemon/watch.hpp"

namespace netkeep {

namespace {

// The flow index's conntrack events, as a source the shell waits on.
class FlowEvents : public Watch {
 public:
  explicit FlowEvents(FlowTracker& t) : t_(t) {}
  int fd() const override { return t_.fd(); }
  const std::string& error() const override { return t_.error(); }
  // The index judges each event itself (flow_index.hpp).
  Drained drain(const Relevant&) override {
    t_.drain();
    return {};
  }

 private:
  FlowTracker& t_;
};

// The shell's kernel: the Linux backend.
class LinuxShellKernel : public ShellKernel {
 public:
  explicit LinuxShellKernel(LinuxKernel& k) : k_(k) {}
  std::string name_of(int ifindex) const override { return k_.name_of(ifindex); }
  uint32_t nft_portid() const override { return k_.nft().portid(); }
  void nft_forget_view() override { k_.nft().set_view(std::nullopt); }
  void nft_view_passed(uint32_t gen) override { k_.nft().view_passed(gen); }
  void nft_accept_race() override { k_.nft().accept_race(); }
  KernelReader& reader() override { return k_; }
  KernelWriter& writer() override { return k_; }
  void follow_nft_events(Watch* events) override { k_.nft().follow_events(events); }
  KernelResult<Watch*> track_flows() override {
    auto t = k_.track_flows();
    if (!t) return unexpected(t.error());
    flows_.emplace(**t);
    return &*flows_;
  }
  KernelResult<std::vector<NftCounter>> read_counters() override { return k_.read_counters(); }
  KernelResult<std::vector<NftMap>> read_forwarding_counters() override {
    return k_.nft().read_forwarding_counters();
  }
  KernelResult<std::vector<NftKeySet>> read_pinhole_counters() override {
    return k_.nft().read_pinhole_counters();
  }
  uint64_t nft_full_dumps() const override { return k_.nft().full_dumps(); }
  uint64_t flow_dumps() const override { return k_.flow_dumps(); }

 private:
  LinuxKernel& k_;
  std::optional<FlowEvents> flows_;
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
  // A log reader that went away (EPIPE) must not end the router's
  // reconciler; the metrics server's peers may go away too.
  ::signal(SIGPIPE, SIG_IGN);
  LogWriter log(STDERR_FILENO, options.log_queue);
  auto log_line = [&log](const std::string& line) { log.line(line); };
  auto linux_kernel = LinuxKernel::open(options.root);
  if (!linux_kernel) {
    log_line(linux_kernel.error().str());
    return 1;
  }
  LinuxShellKernel kernel(**linux_kernel);
  ShellSources sources;
  sources.config = std::make_unique<ConfigWatch>(options.config);
  sources.rtnl = std::make_unique<NetlinkWatch>(
      NETLINK_ROUTE, std::vector<unsigned>{RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR,
                                           RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
                                           RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF});
  sources.nft =
      std::make_unique<NetlinkWatch>(NETLINK_NETFILTER, std::vector<unsigned>{NFNLGRP_NFTABLES});
  Shell shell(options, kernel, std::move(sources), log_line, [&log] { return log.dropped(); });
  return shell.run();
}

}  // namespace netkeep
