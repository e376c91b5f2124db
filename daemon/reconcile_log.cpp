#include "daemon/reconcile_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "reconciler/plan_print.hpp"

namespace netkeep {

namespace {

// Appends a line for each of `items` up to kMaxEach, then one that
// counts the rest as `what`.
template <class List, class Text>
void log_bounded(std::vector<std::string>& out, uint64_t n, const List& items, Text text,
             const char* what) {
  size_t i = 0;
  for (const auto& item : items) {
    if (i++ == ReconcileLog::kMaxEach) break;
    out.push_back(fmt::format("reconcile {}: {}", n, text(item)));
  }
  if (items.size() > ReconcileLog::kMaxEach)
    out.push_back(fmt::format("reconcile {}: ... and {} more {}", n,
                              items.size() - ReconcileLog::kMaxEach, what));
}

// "131060 forward_add, 3 nft_chain_add, ...": the most frequent first.
std::string op_kind_counts(const std::vector<const Op*>& ops) {
  std::map<std::string, size_t> counts;
  for (const Op* op : ops) counts[op_kind(*op)]++;
  std::vector<std::pair<std::string, size_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [kind, count] : sorted)
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", count, kind);
  return out;
}

}  // namespace

std::vector<std::string> reconcile_log_lines(const ReconcileLog& what, const Reconcile& rc) {
  const uint64_t n = what.n;
  std::vector<std::string> out;
  log_bounded(out, n, rc.diags, [](const Diagnostic& d) { return d.str(); },
          "config diagnostics (netkeep plan lists them)");
  log_bounded(out, n, rc.plan.warnings, [](const std::string& w) { return "warning: " + w; },
          "warnings (netkeep plan lists them)");
  log_bounded(out, n, rc.replanned, [](const std::string& why) { return "planned again: " + why; },
          "reasons to plan again");
  if (rc.snapshot_error)
    out.push_back(
        fmt::format("reconcile {}: error: reading the kernel's state: {}", n, rc.snapshot_error->str()));

  std::vector<const Op*> applied;
  applied.reserve(rc.applied_before.size() + rc.result.applied.size());
  for (const Op& op : rc.applied_before) applied.push_back(&op);
  for (size_t i : rc.result.applied) applied.push_back(&rc.plan.ops[i]);
  if (applied.size() <= ReconcileLog::kAllOps) {
    for (const Op* op : applied) out.push_back(fmt::format("reconcile {}: {}", n, to_text(*op)));
  } else {
    out.push_back(fmt::format("reconcile {}: applying {} ops: {}", n, applied.size(),
                              op_kind_counts(applied)));
    for (size_t i = 0; i < ReconcileLog::kFirstOps; i++)
      out.push_back(fmt::format("reconcile {}: {}", n, to_text(*applied[i])));
    out.push_back(fmt::format(
        "reconcile {}: ... and {} more ops (netkeep show lists what the kernel holds)", n,
        applied.size() - ReconcileLog::kFirstOps));
  }
  log_bounded(out, n, rc.result.failures, [](const OpFailure& f) { return "error: " + to_text(f); },
          "failed ops (netkeep plan lists what is still to do)");

  if (rc.result.flows_ended_tcp + rc.result.flows_ended_udp > 0)
    out.push_back(fmt::format(
        "reconcile {}: flows in flight ended: {} tcp, {} udp (conntrack entries deleted)", n,
        rc.result.flows_ended_tcp, rc.result.flows_ended_udp));
  out.push_back(fmt::format(
      "reconcile {}: {} ops applied, {} failed, {:.1f} ms (asked for by {}; config {:.1f}, "
      "kernel read {:.1f}, plan {:.1f}, write {:.1f} ms)",
      n, applied.size(), rc.result.failures.size(), rc.times.total() * 1000, what.asked_by,
      rc.times.config * 1000, rc.times.snapshot * 1000, rc.times.plan * 1000,
      rc.times.execute * 1000));
  return out;
}

}  // namespace netkeep
