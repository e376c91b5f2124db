// The daemon's log, written so that nothing the daemon does waits on it.
// Lines go to a bounded queue; a thread of their own writes them to a
// descriptor (stderr: journald under systemd). When the reader falls
// behind (journald rotating or rate limiting, a full disk, a pipe nobody
// reads), the queue fills and further lines are dropped and counted;
// once the writer catches up it says how many were dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace netkeep {

class LogWriter {
 public:
  static constexpr size_t kDefaultQueue = 1000;  // lines
  static constexpr size_t kMaxLine = 4096;       // bytes; longer lines are cut
  // Lines longer than kMaxLine are cut, so the queue holds at most
  // `queue_lines` × kMaxLine bytes.
  explicit LogWriter(int fd, size_t queue_lines = kDefaultQueue);
  // Writes what is queued, waiting at most a second for the reader: a
  // stuck reader must not hold up the daemon's exit either.
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Queues "netkeep: LINE\n", or counts it as dropped; never blocks on
  // the descriptor (only on the queue's lock, which the writer holds to
  // swap the queue out, never across a write).
  void line(std::string_view text);
  // Lines dropped so far (netkeep_log_lines_dropped_total).
  uint64_t dropped() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the writer thread
};

}  // namespace netkeep
