#include "cmd/confirm.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include "backends/journal.hpp"
#include "backends/linux_kernel.hpp"
#include "backends/nft_view.hpp"
#include "backends/run_lock.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"
#include "reconciler/restore.hpp"

namespace netkeep {

namespace {

using std::chrono::milliseconds;

std::string clock_time(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  return fmt::format("{:%H:%M:%S}", tm);
}

std::string new_id() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint64_t>(unix_ms()) ^ ::getpid();
  return fmt::format("{:016x}", r);
}

struct Rollback {
  bool done = false;     // the touched objects are as before
  bool nothing = false;  // no change was pending (or another one is)
  std::string error;
  std::vector<std::string> lines;  // the ops performed
};

// Rolls the pending change back (the one named `id`, if given): plans from
// the kernel now, executes, ends the journal. A batch the kernel refused
// as stale (another program committed meanwhile) is planned again, once
// (commit's retry); the watchdog tries again a second later if it fails.
Rollback rollback_pending(const std::string& root, const std::string& why,
                          const std::string& id = {}) {
  Rollback out;
  auto lock = RunLock::take(root, "confirm --rollback", std::chrono::seconds(30));
  if (!lock) {
    out.error = lock.error();
    return out;
  }
  Journal j(root);
  auto pending = j.pending();
  if (!pending) {
    out.error = pending.error().str();
    return out;
  }
  if (!*pending || (!id.empty() && (*pending)->id != id)) {
    out.nothing = true;
    return out;
  }
  auto before = j.before();
  auto touched = j.touched();
  if (!before || !touched) {
    out.error = (before ? touched.error() : before.error()).str();
    return out;
  }
  auto opened = LinuxKernel::open(root);
  if (!opened) {
    out.error = opened.error().str();
    return out;
  }
  auto& kernel = *opened;
  kernel->load_view(nft_view_file(root));
  // The same two steps as apply's, with the plan that puts back what the
  // change touched, from the kernel as it is now.
  const Reconcile r = commit(
      prepare_with(*kernel, [&](const Actual& now) { return restore(*before, *touched, now); }),
      *kernel, *kernel);
  for (const Op& op : r.applied_before) out.lines.push_back(to_text(op));
  for (size_t i : r.result.applied) out.lines.push_back(to_text(r.plan.ops[i]));
  if (r.snapshot_error) {
    out.error = "reading the kernel's state: " + r.snapshot_error->str();
    return out;
  }
  kernel->save_view();
  if (!r.result.ok()) {
    out.error = to_text(r.result.failures.front());
    return out;
  }
  out.done = true;
  j.end(
      fmt::format("rolled back at {}: {} ({} ops)", clock_time(unix_ms()), why, out.lines.size()));
  return out;
}

// Starts `netkeep confirm --watchdog ID` in a session of its own, so that
// neither the end of the apply's session (SIGHUP) nor the apply's death
// stops it. Its messages go to watchdog.log in the journal's directory.
std::optional<std::string> spawn_watchdog(const std::string& root, const std::string& id,
                                          const std::filesystem::path& log) {
  const pid_t child = ::fork();
  if (child < 0) return fmt::format("fork: {}", std::strerror(errno));
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the grandchild is nobody's child: init reaps it
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGINT, SIG_IGN);
    int null = ::open("/dev/null", O_RDWR);
    int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err >= 0 ? err : null, 2);
    ::execl("/proc/self/exe", "netkeep", "confirm", "--watchdog", id.c_str(), "--root",
            root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return std::nullopt;
}

// The health checks, in rounds on a thread of their own, until one says
// how it ends.
class CheckRounds {
 public:
  CheckRounds(const std::vector<Check>& checks, int64_t start_ms, int64_t deadline_ms)
      : checks_(checks), start_(start_ms), deadline_(deadline_ms) {
    if (!checks_.empty()) thread_ = std::thread([this] { run(); });
  }
  ~CheckRounds() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // "" while undecided; "confirm: ..." or "rollback: ...".
  std::string outcome() {
    std::lock_guard l(mu_);
    return outcome_;
  }

 private:
  void decide(std::string o) {
    std::lock_guard l(mu_);
    outcome_ = std::move(o);
  }
  void run() {
    const milliseconds window(deadline_ - start_);
    const milliseconds pause = CheckVerdict::pause(window);
    std::vector<std::string> specs;
    for (const auto& c : checks_) specs.push_back(c.spec);
    CheckVerdict verdict(checks_.size());
    while (!stop_) {
      std::vector<CheckResult> results;
      for (size_t i = 0; i < checks_.size() && !stop_; i++) {
        const int64_t left = deadline_ - unix_ms();
        results.push_back(run_check(checks_[i], milliseconds(std::max<int64_t>(left, 1))));
      }
      if (stop_) return;
      for (size_t i : verdict.round(results))
        fmt::print(stderr, "netkeep: check {}: {} ({})\n", checks_[i].spec,
                   results[i].ok ? "passes" : "fails", results[i].saw);
      if (std::string o = verdict.decide(specs, milliseconds(unix_ms() - start_), window);
          !o.empty())
        return decide(std::move(o));
      for (auto until = std::chrono::steady_clock::now() + pause;
           !stop_ && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(milliseconds(50));
    }
  }
  const std::vector<Check>& checks_;
  const int64_t start_, deadline_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string outcome_;
  std::thread thread_;
};

// The ops a rollback performed, as apply prints its own; after `apply
// --json` stdout holds one JSON document, so they go to stderr.
void print_rollback(const Rollback& r, FILE* to = stdout) {
  for (const auto& l : r.lines) fmt::print(to, "{}\n", l);
}

}  // namespace

std::optional<std::string> pending_refusal(const std::string& root) {
  auto p = Journal(root).pending();
  if (!p) return "reading the pending change's journal: " + p.error().str();
  if (!*p) return std::nullopt;
  const int64_t left = std::max<int64_t>(((*p)->deadline_ms - unix_ms()) / 1000, 0);
  return fmt::format(
      "a change applied at {} is waiting for confirmation until {} (in {} s); run `netkeep "
      "confirm` to keep it or `netkeep confirm --rollback` to undo it first",
      clock_time((*p)->applied_ms), clock_time((*p)->deadline_ms), left);
}

ConfirmSession::ConfirmSession(std::string root, std::string config, std::chrono::seconds window,
                               std::vector<Check> checks, bool json)
    : root_(std::move(root)),
      config_(std::move(config)),
      window_(window),
      checks_(std::move(checks)),
      json_(json) {}

std::optional<std::string> ConfirmSession::journal(const Actual& before, const Plan& p) {
  if (p.empty()) return std::nullopt;
  auto symlink_of = [&](const std::string& path) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(std::filesystem::path(root_) / path.substr(1), ec);
    return ec ? std::string() : target.string();
  };
  Journal j(root_);
  if (started_) {
    // Planned again (the kernel refused a stale nftables batch): the
    // snapshot from before the first attempt stays; what this plan touches
    // is added.
    touched_.merge(touched_by(p.ops, before, symlink_of));
    if (auto e = j.update(touched_)) return e->str();
    return std::nullopt;
  }
  id_ = new_id();
  touched_ = touched_by(p.ops, before, symlink_of);
  // Until the apply is done the deadline is far enough to finish it; then
  // the window counts from the end of the apply.
  const int64_t now = unix_ms();
  Pending pending{id_, now, now + 60'000 + window_.count() * 1000, ::getpid(), config_, {}};
  for (const auto& c : checks_) pending.checks.push_back(c.spec);
  pending.applying = true;
  if (auto e = j.begin(pending, before, touched_))
    return "keeping the rollback journal: " + e->str();
  if (auto e = spawn_watchdog(root_, id_, j.dir() / "watchdog.log")) {
    j.end("not applied: " + *e);
    return "starting the rollback watchdog: " + *e;
  }
  started_ = true;
  return std::nullopt;
}

int ConfirmSession::confirm_now(const std::string& how) {
  auto lock = RunLock::take(root_, "confirm", std::chrono::seconds(10));
  if (!lock) {
    fmt::print(stderr, "netkeep: not confirmed: {}; the change is still pending\n", lock.error());
    return 1;
  }
  Journal j(root_);
  auto p = j.pending();
  if (!p || !*p || (*p)->id != id_) {
    // Rolled back or confirmed meanwhile (by the watchdog, or another shell).
    const std::string last = j.last();
    fmt::print(stderr, "netkeep: {}\n", last.empty() ? "the change is no longer pending" : last);
    return last.starts_with("confirmed") ? 0 : kExitRolledBack;
  }
  j.end(fmt::format("confirmed at {}: {}", clock_time(unix_ms()), how));
  fmt::print(stderr, "netkeep: confirmed ({}); the change stays\n", how);
  return 0;
}

int ConfirmSession::roll_back(const std::string& why) {
  Rollback r = rollback_pending(root_, why, id_);
  print_rollback(r, json_ ? stderr : stdout);
  if (r.nothing) {
    const std::string last = Journal(root_).last();
    fmt::print(stderr, "netkeep: {}\n", last.empty() ? "the change is no longer pending" : last);
    return last.starts_with("confirmed") ? 0 : kExitRolledBack;
  }
  if (!r.done) {
    fmt::print(stderr,
               "netkeep: rolling back failed: {}; the change is still pending (netkeep confirm "
               "--status); the watchdog tries again\n",
               r.error);
    return 1;
  }
  fmt::print(stderr, "netkeep: rolled back ({} ops): {}\n", r.lines.size(), why);
  return kExitRolledBack;
}

int ConfirmSession::wait(bool applied_ok) {
  if (!started_) {
    if (applied_ok) fmt::print(stderr, "netkeep: nothing changed; nothing to confirm\n");
    return applied_ok ? 0 : 1;
  }
  if (!applied_ok) {
    roll_back("the apply failed");
    return 1;
  }
  Journal j(root_);
  auto p = j.pending();
  if (!p || !*p) return roll_back("the journal cannot be read");
  Pending pending = **p;
  const int64_t start = unix_ms();
  pending.deadline_ms = start + window_.count() * 1000;
  pending.applying = false;
  if (auto e = j.update(pending)) fmt::print(stderr, "warning: {}\n", e->str());

  const bool tty = ::isatty(0);
  fmt::print(stderr,
             "netkeep: applied; it rolls back at {} (in {} s) unless confirmed: {}run `netkeep "
             "confirm`{}\n",
             clock_time(pending.deadline_ms), window_.count(), tty ? "press Enter here, or " : "",
             checks_.empty() ? "" : ", or the checks pass 3 times in a row");

  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) {
    // Then the signals keep their default action: the apply dies, and the
    // watchdog rolls back at the deadline.
    ::sigprocmask(SIG_UNBLOCK, &mask, nullptr);
    fmt::print(stderr, "warning: signalfd: {}; a signal ends this apply, not its change\n",
               std::strerror(errno));
  }
  CheckRounds rounds(checks_, start, pending.deadline_ms);
  bool watch_tty = tty;
  for (;;) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {0, POLLIN, 0}};
    int n = ::poll(fds, watch_tty ? 2 : 1, 100);
    if (n > 0 && (fds[0].revents & POLLIN)) {
      signalfd_siginfo si{};
      if (::read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          // The terminal is gone: nothing more can be said on it.
          int null = ::open("/dev/null", O_WRONLY);
          ::dup2(null, 1);
          ::dup2(null, 2);
        }
        const char* name = sigabbrev_np(static_cast<int>(si.ssi_signo));
        return roll_back(fmt::format("SIG{} to the waiting apply", name ? name : "?"));
      }
    }
    if (watch_tty && n > 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
      char buf[256];
      ssize_t got = ::read(0, buf, sizeof buf);
      if (got > 0 && std::memchr(buf, '\n', static_cast<size_t>(got)))
        return confirm_now("Enter on the terminal");
      // End of input, or the terminal hung up: wait on without it.
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) watch_tty = false;
    }
    auto now_pending = j.pending();
    if (now_pending && (!*now_pending || (*now_pending)->id != id_)) {
      const std::string last = j.last();
      fmt::print(stderr, "netkeep: {}\n", last.empty() ? "the change is no longer pending" : last);
      return last.starts_with("confirmed") ? 0 : kExitRolledBack;
    }
    const std::string o = rounds.outcome();
    if (o.starts_with("confirm: ")) return confirm_now(o.substr(9));
    if (o.starts_with("rollback: ")) return roll_back(o.substr(10));
    if (unix_ms() >= pending.deadline_ms) return roll_back("not confirmed by the deadline");
  }
}

int cmd_confirm(const std::string& root, const std::string& mode) {
  Journal j(root);
  if (mode == "status") {
    auto p = j.pending();
    if (!p) {
      fmt::print(stderr, "netkeep: {}\n", p.error().str());
      return 1;
    }
    if (!*p) {
      const std::string last = j.last();
      fmt::print("nothing is waiting for confirmation{}\n", last.empty() ? "" : "; last: " + last);
      return 0;
    }
    const Pending& x = **p;
    if (x.applying)
      fmt::print("a change from {} is being applied since {}; its deadline counts from its end\n",
                 x.config, clock_time(x.applied_ms));
    else
      fmt::print("a change applied at {} from {} rolls back at {} (in {} s) unless confirmed\n",
                 clock_time(x.applied_ms), x.config, clock_time(x.deadline_ms),
                 std::max<int64_t>((x.deadline_ms - unix_ms()) / 1000, 0));
    for (const auto& c : x.checks) fmt::print("check: {}\n", c);
    if (auto t = j.touched()) {
      for (const auto& l : t->links)
        fmt::print("touches link {}{}\n", l.before,
                   l.after == l.before ? "" : " (now " + l.after + ")");
      for (const auto& l : t->created_links) fmt::print("touches link {} (new)\n", l);
      for (const auto& a : t->addrs) fmt::print("touches addr {} dev {}\n", a.local.str(), a.dev);
      for (const auto& r : t->routes) fmt::print("touches route {}\n", r.dst.str());
      for (const auto& s : t->sysctls) fmt::print("touches sysctl {}\n", sysctl_dotted(s));
      for (const auto& f : t->files) fmt::print("touches file {}\n", f.path);
      if (t->nft) fmt::print("touches the nftables objects netkeep owns\n");
    }
    return 0;
  }
  if (mode == "rollback") {
    Rollback r = rollback_pending(root, "netkeep confirm --rollback");
    print_rollback(r);
    if (r.nothing) {
      fmt::print(stderr, "netkeep: nothing is waiting for confirmation\n");
      return 1;
    }
    if (!r.done) {
      fmt::print(stderr, "netkeep: rolling back failed: {}\n", r.error);
      return 1;
    }
    fmt::print(stderr, "netkeep: rolled back ({} ops)\n", r.lines.size());
    return 0;
  }
  auto lock = RunLock::take(root, "confirm", std::chrono::seconds(10));
  if (!lock) {
    fmt::print(stderr, "netkeep: {}\n", lock.error());
    return 1;
  }
  auto p = j.pending();
  if (!p || !*p) {
    fmt::print(stderr, "netkeep: nothing is waiting for confirmation{}\n",
               p ? "" : " (" + p.error().str() + ")");
    return 1;
  }
  j.end(fmt::format("confirmed at {}: netkeep confirm", clock_time(unix_ms())));
  fmt::print(stderr, "netkeep: confirmed the change applied at {}; it stays\n",
             clock_time((*p)->applied_ms));
  return 0;
}

int run_watchdog(const std::string& root, const std::string& id) {
  Journal j(root);
  for (int failures = 0;;) {
    auto p = j.pending();
    if (!p) {
      fmt::print(stderr, "netkeep watchdog {}: {}\n", id, p.error().str());
      if (++failures > 30) return 1;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (!*p || (*p)->id != id) return 0;  // confirmed, rolled back, or another change
    const bool apply_alive =
        (*p)->apply_pid > 0 && ::kill(static_cast<pid_t>((*p)->apply_pid), 0) == 0;
    const auto why = watchdog_due(**p, apply_alive, unix_ms());
    if (!why) {
      std::this_thread::sleep_for(milliseconds(100));
      continue;
    }
    Rollback r = rollback_pending(root, *why, id);
    if (r.done || r.nothing) return 0;
    fmt::print(stderr, "netkeep watchdog {}: rolling back failed: {}\n", id, r.error);
    if (++failures > 30) return 1;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace netkeep
