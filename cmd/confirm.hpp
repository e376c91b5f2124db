// Changing a remote router safely: `apply --confirm SECONDS [--check ...]`
// and `netkeep confirm [--status | --rollback]`.
//
// Before the change is written, its journal (backends/journal.hpp) holds
// the snapshot from before it and what it touches, and a watchdog process
// of its own (`netkeep confirm --watchdog ID`, in a new session) waits for
// the deadline: killing the apply, or losing its terminal, cannot keep the
// rollback from happening. The apply then waits for Enter on its terminal,
// `netkeep confirm` from any shell, or its health checks; SIGHUP, SIGINT
// and SIGTERM roll back at once. A rollback plans, from the kernel as it is
// then, the ops that put back what the change touched (reconciler/restore.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "daemon/checks.hpp"
#include "model/actual.hpp"
#include "reconciler/op.hpp"
#include "reconciler/restore.hpp"

namespace netkeep {

// Exit status of an apply that was rolled back.
inline constexpr int kExitRolledBack = 4;

// Why another change may not start now (one is waiting for confirmation),
// or nullopt. For apply and run, under the run lock.
std::optional<std::string> pending_refusal(const std::string& root);

class ConfirmSession {
 public:
  // `json`: apply --json; the rollback's ops then go to stderr.
  ConfirmSession(std::string root, std::string config, std::chrono::seconds window,
                 std::vector<Check> checks, bool json);
  // With the plan about to be executed and the state it was planned from,
  // between prepare and commit: journals it and starts the watchdog. An
  // error: it must not be executed. Again with a second plan (after a
  // stale batch): what it touches is added to the journal.
  std::optional<std::string> journal(const Actual& before, const Plan& p);
  // After the execution: rolls back at once if it failed, else waits for
  // confirmation. Returns the exit status: 0 confirmed (or nothing
  // changed), 4 rolled back, 1 error.
  int wait(bool applied_ok);

 private:
  int confirm_now(const std::string& how);
  int roll_back(const std::string& why);
  std::string root_, config_;
  std::chrono::seconds window_;
  std::vector<Check> checks_;
  bool json_ = false;
  bool started_ = false;
  std::string id_;
  Touched touched_;
};

// `netkeep confirm`, `--status`, `--rollback`; and the watchdog.
int cmd_confirm(const std::string& root, const std::string& mode);
int run_watchdog(const std::string& root, const std::string& id);

}  // namespace netkeep
