// The daemon's I/O shell: one io_context, one thread. The event sources,
// signals, the metrics server and the systemd watchdog feed the loop
// (loop.hpp), which decides when to reconcile. What the shell uses of the
// kernel and what it waits on are the interfaces below: daemon.cpp gives
// it the Linux ones, tests/unit/shell_test.cpp fakes that it drives
// without sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/netlink_watch.hpp"
#include "backends/nft_kernel.hpp"
#include "daemon/daemon.hpp"
#include "daemon/loop.hpp"

namespace netkeep {

// What the shell uses of the kernel backend: the loop's reads, writes and
// questions, and beside them the counters for GET /metrics, the nftables
// event group it follows, and the flow index's events.
class ShellKernel : public DaemonKernel {
 public:
  virtual KernelReader& reader() = 0;
  virtual KernelWriter& writer() = 0;
  // From now on the shell follows the nftables event group on `events`
  // (NftKernel::follow_events); nullptr: nobody does.
  virtual void follow_nft_events(Watch* events) = 0;
  // Conntrack events, read as they come into the index a changed
  // forwarding's flows are found in (backends/flow_index.hpp); or why
  // there are none (then each lookup reads the whole table).
  virtual KernelResult<Watch*> track_flows() = 0;
  virtual KernelResult<std::vector<NftCounter>> read_counters() = 0;
  virtual KernelResult<std::vector<NftMap>> read_forwarding_counters() = 0;
  virtual KernelResult<std::vector<NftKeySet>> read_pinhole_counters() = 0;
  virtual uint64_t nft_full_dumps() const = 0;
  virtual uint64_t flow_dumps() const = 0;
};

// What the shell waits on besides signals: the config files, rtnetlink and
// the nftables event group (watch.hpp, backends/netlink_watch.hpp).
struct ShellSources {
  std::unique_ptr<Watch> config, rtnl, nft;
};

class Shell {
 public:
  using Log = std::function<void(const std::string&)>;  // one line, never blocking
  // `log_dropped`: the log's lines dropped so far, for /metrics (log.hpp).
  Shell(const DaemonOptions& options, ShellKernel& kernel, ShellSources sources, Log log,
        std::function<uint64_t()> log_dropped = {});
  ~Shell();
  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  // Serves until SIGTERM or SIGINT; returns the exit status.
  int run();
  // run() in steps, for tests: start() arms everything and returns an exit
  // status if it cannot (the metrics address); then each run_one_for()
  // runs one handler that is ready, waiting at most `limit` for one, until
  // stopped() (by a signal).
  std::optional<int> start();
  void run_one_for(std::chrono::milliseconds limit);
  bool stopped() const;
  const Loop& loop() const;
  // The text GET /metrics answers.
  std::string render_metrics();

 private:
  class Impl;  // Boost.Asio's part, apart from this header
  std::unique_ptr<Impl> impl_;
};

}  // namespace netkeep
