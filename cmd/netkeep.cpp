// netkeep's command line: plan, apply, show (SPEC §1).
#include <fmt/format.h>
#include <netkeep_version.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "backends/linux_kernel.hpp"
#include "backends/nft_view.hpp"
#include "backends/resolv_conf.hpp"
#include "backends/run_lock.hpp"
#include "backends/resolver.hpp"
#include "cmd/args.hpp"
#include "cmd/confirm.hpp"
#include "cmd/doctor.hpp"
#include "cmd/help.hpp"
#include "cmd/lease.hpp"
#include "cmd/show.hpp"
#include "cmd/snapshot.hpp"
#include "daemon/daemon.hpp"
#include "model/config.hpp"
#include "model/file_read.hpp"
#include "model/json_out.hpp"
#include "reconciler/executor.hpp"
#include "reconciler/nft_script.hpp"
#include "reconciler/plan.hpp"
#include "reconciler/plan_print.hpp"
#include "reconciler/reconcile.hpp"
#include "reconciler/saved_plan.hpp"

namespace netkeep {
namespace {

void print_diags(const Diagnostics& diags) {
  for (const auto& d : diags) fmt::print(stderr, "{}\n", d.str());
}

// A saved plan goes through the same checks as the file it names.
Result<SavedPlan, std::string> read_saved_plan(const std::string& file) {
  FileText f = read_regular_file(file);
  if (f.result == ReadResult::missing) return unexpected(std::string("no such file"));
  if (f.result == ReadResult::error) return unexpected(f.error);
  return parse_saved_plan(f.text);
}

std::optional<std::string> save_plan(const std::string& file, const SavedPlan& p) {
  auto tmp = files::write_beside(file, serialize(p), 0600);
  if (!tmp) return tmp.error().str();
  if (::rename(tmp->c_str(), file.c_str()) < 0) {
    std::string e = fmt::format("{}: {}", file, std::strerror(errno));
    ::unlink(tmp->c_str());
    return e;
  }
  return std::nullopt;
}

// Why `p` is not the saved plan from the same inputs, or "".
std::string saved_plan_stale(const std::string& config, const SavedPlan& saved, const Prepared& p) {
  std::string why = fingerprint_diff(saved.fingerprint, fingerprint(config, p.actual));
  if (why.empty() && to_json(p.plan) != saved.plan_json)
    why = "the plan computed now differs from the saved one";
  return why;
}

// Tells `plan` how many flows each conntrack op would end now.
void count_flows(LinuxKernel& kernel, Plan& p) {
  std::vector<FlowsEnd*> ends;
  for (auto& op : p.ops)
    if (auto* f = std::get_if<FlowsEnd>(&op)) ends.push_back(f);
  if (ends.empty()) return;
  if (auto n = kernel.count_flows({ends.begin(), ends.end()}))
    for (size_t i = 0; i < ends.size(); i++) ends[i]->in_flight = (*n)[i];
  else
    fmt::print(stderr, "warning: counting the flows in flight: {}\n", n.error().str());
}

// plan --check: the kernel validates the nftables batch (sent without its
// commit). False when it would reject it (said).
bool kernel_accepts(LinuxKernel& kernel, const Plan& p) {
  std::vector<const Op*> nft_ops;
  for (const auto& op : p.ops)
    if (is_nft(op)) nft_ops.push_back(&op);
  bool ok = true;
  for (const auto& e : kernel.check_nft(nft_ops)) {
    ok = false;
    fmt::print(stderr, "error: the kernel would reject {}: {}\n",
               e.index < nft_ops.size() ? to_text(*nft_ops[e.index]) : "the nftables batch",
               e.error.message);
  }
  if (ok && !nft_ops.empty())
    fmt::print(stderr, "netkeep: the kernel accepts the {} nftables ops\n", nft_ops.size());
  return ok;
}

int cmd_plan(const Args& a) {
  auto kernel = open_kernel(a.root);
  if (!kernel) return 1;
  Prepared prepared = prepare(a.config, *kernel, resolve_host);
  if (!prepared_or_said(prepared)) return 1;
  Plan& p = prepared.plan;
  // Saved as planned; the reader is also told how many flows each
  // conntrack op would end now.
  SavedPlan saved{fingerprint(a.config, prepared.actual), to_json(p), to_text(p)};
  count_flows(*kernel, p);
  fmt::print("{}", a.nft ? to_nft_script(p) : a.json ? to_json(p) : to_text(p));
  if (!a.out.empty()) {
    if (auto e = save_plan(a.out, saved)) {
      fmt::print(stderr, "netkeep: saving the plan: {}\n", *e);
      return 1;
    }
    fmt::print(stderr, "netkeep: plan saved to {}\n", a.out);
  }
  if (a.json || a.nft)
    for (const auto& w : p.warnings) fmt::print(stderr, "warning: {}\n", w);
  const bool check_failed = a.check && !kernel_accepts(*kernel, p);
  if (has_errors(prepared.diags) || check_failed) return 1;
  return p.empty() ? 0 : 2;
}

// The lock of one netkeep per root and namespace, for apply and run: they
// wait up to 10 s for another to finish. nullopt (said why) when it stays held.
std::optional<RunLock> lock_for(const Args& a) {
  auto lock = RunLock::take(a.root, a.command.c_str(), std::chrono::seconds(10));
  if (!lock) {
    fmt::print(stderr, "netkeep: {}\n", lock.error());
    return std::nullopt;
  }
  if (!lock->warning().empty()) fmt::print(stderr, "warning: {}\n", lock->warning());
  return std::move(*lock);
}

// The --check specs; nullopt when one is wrong (said, with `refusal`).
std::optional<std::vector<Check>> parse_checks(const Args& a, const char* refusal) {
  std::vector<Check> checks;
  for (const auto& spec : a.checks) {
    auto c = parse_check(spec);
    if (!c) {
      fmt::print(stderr, "netkeep: --check {}; {}\n", c.error(), refusal);
      return std::nullopt;
    }
    checks.push_back(*c);
  }
  return checks;
}

// Renders each op's line on another thread while the kernel works through
// the writes (apply prints only those applied).
struct RenderAlongside {
  std::vector<std::string> lines;
  std::future<void> rendering;

  void around(bool json, CommitOptions& o) {
    if (json) return;
    o.start = [this](const Plan& p) {
      lines.clear();  // a second plan, after a refused batch, replaces the first
      try {
        rendering = std::async(std::launch::async, [this, &p] {
          lines.reserve(p.ops.size());
          for (const auto& op : p.ops) lines.push_back(to_text(op));
        });
      } catch (const std::system_error&) {  // no thread to be had: rendered after
      }
    };
    o.finish = [this] {
      if (rendering.valid()) rendering.get();
    };
  }
  const std::string& line(const Plan& p, size_t i) {
    if (i >= lines.size()) lines.resize(p.ops.size());
    if (lines[i].empty()) lines[i] = to_text(p.ops[i]);
    return lines[i];
  }
};

// apply --json's report: the ops applied and failed, and with `stats`
// the requests and times.
std::string applied_json(const Reconcile& rc, const std::optional<KernelStats>& stats) {
  const ExecResult& r = rc.result;
  std::string out = "{\"applied\": [";
  const char* sep = "\n  ";
  for (const Op& op : rc.applied_before) out += std::exchange(sep, ",\n  ") + to_json(op);
  for (size_t i : r.applied) out += std::exchange(sep, ",\n  ") + to_json(rc.plan.ops[i]);
  out += "],\n \"failed\": [";
  for (size_t i = 0; i < r.failures.size(); i++) {
    const auto& f = r.failures[i];
    out += fmt::format("{}{{\"op\": {}, \"errno\": {}, \"error\": {}, \"skipped\": {}}}",
                       i ? ",\n  " : "\n  ", to_json(f.op), f.error.code,
                       json::quote(f.error.message), f.skipped);
  }
  out += fmt::format("],\n \"write_requests\": {}", r.write_requests);
  out += fmt::format(",\n \"conntrack_deleted\": {{\"tcp\": {}, \"udp\": {}}}", r.flows_ended_tcp,
                     r.flows_ended_udp);
  if (stats) {
    const KernelStats& st = *stats;
    out += fmt::format(
        ",\n \"stats\": {{\"rtnetlink_reads\": {}, \"rtnetlink_writes\": {}, \"nftables_reads\": "
        "{}, "
        "\"nftables_writes\": {}, \"other_writes\": {}, \"conntrack\": {}}}",
        st.rtnl_reads, st.rtnl_writes, st.nft_reads, st.nft_writes, st.other_writes, st.conntrack);
    out += fmt::format(
        ",\n \"times_ms\": {{\"config\": {:.3f}, \"kernel_read\": {:.3f}, \"plan\": {:.3f}, "
        "\"write\": {:.3f}}}",
        rc.times.config * 1e3, rc.times.snapshot * 1e3, rc.times.plan * 1e3,
        rc.times.execute * 1e3);
  }
  return out + "}\n";
}

// apply's summary on stderr: failures, counts, flows ended, and with
// `stats` the requests and times.
void print_summary(const Reconcile& rc, const std::optional<KernelStats>& stats) {
  const ExecResult& r = rc.result;
  for (const auto& f : r.failures) fmt::print(stderr, "error: {}\n", to_text(f));
  fmt::print(stderr, "netkeep: {} ops applied, {} failed, {} write requests\n",
             rc.applied_before.size() + r.applied.size(), r.failures.size(), r.write_requests);
  if (r.flows_ended_tcp + r.flows_ended_udp > 0)
    fmt::print(stderr,
               "netkeep: flows in flight ended: {} tcp, {} udp (conntrack entries deleted)\n",
               r.flows_ended_tcp, r.flows_ended_udp);
  if (!stats) return;
  const KernelStats& st = *stats;
  fmt::print(stderr,
             "netkeep: requests: rtnetlink {} reads {} writes; nftables {} reads {} writes; "
             "other {} writes; conntrack {} requests\n",
             st.rtnl_reads, st.rtnl_writes, st.nft_reads, st.nft_writes, st.other_writes,
             st.conntrack);
  fmt::print(
      stderr, "netkeep: time: config {:.1f}, kernel read {:.1f}, plan {:.1f}, write {:.1f} ms\n",
      rc.times.config * 1e3, rc.times.snapshot * 1e3, rc.times.plan * 1e3, rc.times.execute * 1e3);
}

// What apply says of a reconcile, and its exit status.
int report_apply(const Args& a, const Reconcile& rc, LinuxKernel& kernel, RenderAlongside& render) {
  if (auto w = kernel.save_view())
    fmt::print(stderr, "warning: keeping the nftables view: {}\n", w->str());
  print_diags(rc.diags);
  for (const auto& w : rc.plan.warnings) fmt::print(stderr, "warning: {}\n", w);
  for (const auto& n : rc.replanned) fmt::print(stderr, "netkeep: planned again: {}\n", n);
  if (rc.snapshot_error && !rc.changed()) {
    fmt::print(stderr, "netkeep: reading the kernel's state: {}\n", rc.snapshot_error->str());
    return 1;
  }
  const std::optional<KernelStats> stats =
      a.stats ? std::optional<KernelStats>(kernel.stats()) : std::nullopt;
  if (a.json) {
    fmt::print("{}", applied_json(rc, stats));
  } else {
    for (const Op& op : rc.applied_before) fmt::print("{}\n", to_text(op));
    for (size_t i : rc.result.applied) fmt::print("{}\n", render.line(rc.plan, i));
  }
  print_summary(rc, a.json ? std::nullopt : stats);
  if (rc.snapshot_error)
    fmt::print(stderr, "netkeep: reading the kernel's state again: {}; the rest was not done\n",
               rc.snapshot_error->str());
  if (!rc.held_back.empty())
    fmt::print(stderr,
               "netkeep: the saved plan was performed in part: {}; the rest was not done (run "
               "`netkeep plan` again)\n",
               rc.held_back);
  return rc.ok() ? 0 : 1;
}

int cmd_apply(const Args& a) {
  auto checks = parse_checks(a, "nothing done");
  if (!checks) return 1;
  std::optional<SavedPlan> saved;
  if (!a.plan_file.empty()) {
    auto p = read_saved_plan(a.plan_file);
    if (!p) {
      fmt::print(stderr, "netkeep: {}: {}; nothing done\n", a.plan_file, p.error());
      return 1;
    }
    saved = std::move(*p);
  }
  auto lock = lock_for(a);
  if (!lock) return 1;
  if (auto why = pending_refusal(a.root)) {
    fmt::print(stderr, "netkeep: {}; nothing done\n", *why);
    return 1;
  }
  auto kernel = open_kernel(a.root);
  if (!kernel) return 1;
  Prepared p = prepare(a.config, *kernel, resolve_host);
  // Between the two steps: the saved plan is checked against what was
  // read, and with --confirm the change is journaled and its watchdog
  // started before anything is written (if that fails, nothing is).
  if (saved && !p.snapshot_error)
    if (std::string stale = saved_plan_stale(a.config, *saved, p); !stale.empty()) {
      fmt::print(stderr, "netkeep: plan is stale: {}; nothing done\n", stale);
      return 3;
    }
  std::optional<ConfirmSession> confirm;
  if (a.confirm && !p.snapshot_error) {
    confirm.emplace(a.root, a.config, std::chrono::seconds(a.confirm), std::move(*checks), a.json);
    if (auto e = confirm->journal(p.actual, p.plan)) {
      fmt::print(stderr, "netkeep: {}; nothing done\n", *e);
      return 1;
    }
  }
  RenderAlongside render;
  CommitOptions o;
  render.around(a.json, o);
  o.exact = saved.has_value();
  if (confirm)
    o.before_second = [&](const Actual& x, const Plan& q) { return confirm->journal(x, q); };
  const Reconcile rc = commit(std::move(p), *kernel, *kernel, o);
  if (!rc.held_back.empty() && !rc.changed()) {
    fmt::print(stderr, "netkeep: plan is stale: {}; nothing done\n", rc.held_back);
    return 3;
  }
  const int status = report_apply(a, rc, *kernel, render);
  if (!confirm) return status;
  lock.reset();  // `netkeep confirm` and the watchdog take it
  std::fflush(stdout);
  return confirm->wait(rc.ok());
}

int cmd_run(const Args& a);

int run(int argc, char** argv) {
  Args a;
  if (auto exit = parse_args(std::vector<std::string>(argv + 1, argv + argc), a)) return *exit;
  if (a.command == "lease") return cmd_lease(a.config, a.lease_args);
  if (a.command == "confirm") {
    if (a.confirm_mode == "watchdog") return run_watchdog(a.root, a.watchdog_id);
    return cmd_confirm(a.root, a.confirm_mode);
  }
  // A config directory that is not there is an error for the whole run,
  // not a config that declares nothing: applying it would remove every
  // owned address, route and forwarding.
  std::error_code ec;
  if (a.command != "show" && !std::filesystem::is_directory(a.config, ec)) {
    fmt::print(stderr, "netkeep: config directory {}: {}; nothing done\n", a.config,
               ec ? ec.message() : "not a directory (is it mounted?)");
    return 1;
  }
  if (a.command == "plan") return cmd_plan(a);
  if (a.command == "apply") return cmd_apply(a);
  if (a.command == "show") return cmd_show(a.config, a.root, a.json);
  if (a.command == "doctor") return cmd_doctor(a.config, a.root, a.json);
  return cmd_run(a);
}

int cmd_run(const Args& a) {
  auto checks = parse_checks(a, "not started");
  if (!checks) return 1;
  auto lock = lock_for(a);
  if (!lock) return 1;
  if (auto why = pending_refusal(a.root)) {
    fmt::print(stderr, "netkeep: {}; not started\n", *why);
    return 1;
  }
  DaemonOptions o;
  o.config = a.config;
  o.root = a.root;
  o.metrics = a.metrics;
  o.notify_pidfiles = a.notify_pidfiles;
  o.resync = std::chrono::seconds(a.resync);
  o.log_queue = static_cast<size_t>(a.log_queue);
  o.confirm = std::chrono::seconds(a.confirm);
  o.checks = std::move(*checks);
  return run_daemon(o);
}

}  // namespace
}  // namespace netkeep

int main(int argc, char** argv) {
  try {
    return netkeep::run(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "netkeep: internal error: {}\n", e.what());
    return 1;
  }
}
