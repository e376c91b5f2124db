#include "daemon/log.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace netkeep {

struct LogWriter::State {
  State(int f, size_t cap) : fd(f), capacity(cap) {}
  const int fd;
  const size_t capacity;
  std::mutex m;
  std::condition_variable wake, idle;
  std::string queue;  // whole lines, each with its newline
  size_t queued = 0;  // lines in `queue`
  uint64_t dropped = 0, reported = 0;
  bool stop = false, done = false;
  std::atomic<uint64_t> dropped_total{0};

  // Writes all of `bytes`; false when the descriptor refuses them (the
  // reader is gone: EPIPE, as SIGPIPE is ignored by the daemon).
  bool write_all(std::string_view bytes) const {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n >= 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {  // someone made the descriptor non-blocking
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      return false;
    }
    return true;
  }

  void run() {
    std::unique_lock l(m);
    for (;;) {
      wake.wait(l, [&] { return queued || dropped != reported || stop; });
      if (!queued && dropped == reported) break;  // stopped, all written
      std::string batch;
      batch.swap(queue);
      const size_t lines = queued;
      queued = 0;
      const uint64_t lost = dropped - reported;
      reported = dropped;
      l.unlock();
      // The lines dropped were dropped after those of this batch: the
      // queue was full of them.
      bool ok = write_all(batch);
      if (ok && lost)
        ok = write_all(fmt::format(
            "netkeep: log: {} lines dropped: its reader did not keep up "
            "(netkeep_log_lines_dropped_total counts them)\n",
            lost));
      if (!ok) dropped_total += lines;
      l.lock();
    }
    done = true;
    idle.notify_all();
  }
};

LogWriter::LogWriter(int fd, size_t queue_lines)
    : state_(std::make_shared<State>(fd, queue_lines)) {
  // The thread holds the state too: if the reader is stuck at exit, the
  // thread is left behind in write(2) and the state outlives this object.
  std::thread([s = state_] { s->run(); }).detach();
}

LogWriter::~LogWriter() {
  std::unique_lock l(state_->m);
  state_->stop = true;
  state_->wake.notify_one();
  state_->idle.wait_for(l, std::chrono::seconds(1), [&] { return state_->done; });
}

void LogWriter::line(std::string_view text) {
  constexpr std::string_view kCut = " [cut]";
  const bool cut = text.size() > kMaxLine;
  if (cut) text = text.substr(0, kMaxLine);
  std::lock_guard l(state_->m);
  if (state_->queued >= state_->capacity) {
    state_->dropped++;
    state_->dropped_total++;
    return;
  }
  auto& q = state_->queue;
  q += "netkeep: ";
  q += text;
  if (cut) q += kCut;
  q += '\n';
  if (state_->queued++ == 0) state_->wake.notify_one();
}

uint64_t LogWriter::dropped() const {
  return state_->dropped_total.load(std::memory_order_relaxed);
}

}  // namespace netkeep
