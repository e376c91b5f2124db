// The journal of a change waiting for confirmation (`apply --confirm`),
// under ROOT/run/netkeep/confirm-net<namespace inode>/, mode 0700:
//   before.json   the snapshot taken before the change (0600)
//   touched.json  what the change touches (reconciler/restore.hpp)
//   pending       when it rolls back, and who waits for it; written last
//                 and removed first: while it exists a change is pending
//   last          how the last one ended, for `netkeep confirm --status`
// It lives outside the process that applied the change, so a rollback
// survives that process being killed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/actual.hpp"
#include "model/result.hpp"
#include "reconciler/kernel.hpp"
#include "reconciler/restore.hpp"

namespace netkeep {

struct Pending {
  std::string id;           // names the watchdog that waits for this change
  int64_t applied_ms = 0;   // Unix time, ms
  int64_t deadline_ms = 0;  // Unix time, ms: rolled back then unless confirmed
  int64_t apply_pid = 0;    // the apply that waits on its terminal (may be gone)
  std::string config;       // the config directory applied
  std::vector<std::string> checks;
  // Still executing: deadline_ms is provisional until the apply has
  // finished and counts the window from then.
  bool applying = false;
  bool operator==(const Pending&) const = default;
};

std::string to_json(const Pending& p);
Result<Pending, std::string> pending_from_json(std::string_view text);

int64_t unix_ms();  // now

// Why the watchdog rolls `p` back at `now_ms`, or nullopt while it waits.
// An apply that ended (killed) before it finished executing leaves a
// partial change nobody announced a deadline for: rolled back at once. A
// live apply rolls back itself at the deadline, where the operator sees
// it; the watchdog stands by half a second longer.
std::optional<std::string> watchdog_due(const Pending& p, bool apply_alive, int64_t now_ms);

class Journal {
 public:
  explicit Journal(const std::filesystem::path& root);
  const std::filesystem::path& dir() const { return dir_; }

  // Writes before.json and touched.json, then `pending`.
  std::optional<KernelError> begin(const Pending& p, const Actual& before, const Touched& t);
  std::optional<KernelError> update(const Pending& p);  // `pending` alone
  std::optional<KernelError> update(const Touched& t);  // touched.json alone

  // The pending change, nullopt when none; an error (naming the file)
  // when its files cannot be read, or hold what netkeep does not write.
  KernelResult<std::optional<Pending>> pending() const;
  KernelResult<Actual> before() const;
  KernelResult<Touched> touched() const;

  // Ends the pending change: `outcome` (one line) goes to `last`, then
  // `pending` is removed, then the rest. One that finds nothing pending
  // reads how it ended from `last`.
  void end(const std::string& outcome);
  std::string last() const;  // empty when nothing ended yet

 private:
  std::optional<KernelError> put(const char* name, const std::string& text) const;
  template <class T>
  KernelResult<T> read(const char* name, Result<T, std::string> (*parse)(std::string_view)) const;
  std::filesystem::path dir_;
};

}  // namespace netkeep
