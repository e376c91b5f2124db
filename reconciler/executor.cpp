#include "model/overload.hpp"
#include "reconciler/executor.hpp"

#include <cerrno>

#include <fmt/format.h>

#include <set>

#include "reconciler/plan_print.hpp"

namespace netkeep {

namespace {

// What must have succeeded for an op to make sense. A link that failed to
// be created or renamed does not exist under its new name; a route whose
// source address failed to be added would be rejected.
struct Dependencies {
  std::set<std::string> missing_links;
  std::set<IpAddr> missing_addrs;
  bool nft_failed = false;  // flows in flight keep their old DNAT then

  std::optional<std::string> blocked(const Op& op) const {
    auto link = [&](const std::string& dev) -> std::optional<std::string> {
      if (missing_links.contains(dev)) return fmt::format("link {} is missing", dev);
      return std::nullopt;
    };
    return std::visit(Overload{
                          [&](const LinkSetMtu& o) { return link(o.dev); },
                          [&](const WgSetDevice& o) { return link(o.device.name); },
                          [&](const FecSet& o) { return link(o.dev); },
                          [&](const LinkSetMac& o) { return link(o.dev); },
                          [&](const LinkSetUp& o) { return link(o.dev); },
                          [&](const LinkSetDown& o) { return link(o.dev); },
                          [&](const LinkSetMaster& o) {
                            auto b = link(o.dev);
                            return b || o.master.empty() ? b : link(o.master);
                          },
                          [&](const AddrAdd& o) { return link(o.addr.dev); },
                          [&](const FlowsEnd&) -> std::optional<std::string> {
                            if (nft_failed) return "the nftables transaction failed";
                            return std::nullopt;
                          },
                          [&](const RouteReplace& o) -> std::optional<std::string> {
                            if (auto b = link(o.route.dev)) return b;
                            if (o.route.prefsrc && missing_addrs.contains(*o.route.prefsrc))
                              return fmt::format("source address {} is missing",
                                                 o.route.prefsrc->str());
                            return std::nullopt;
                          },
                          [&](const auto&) -> std::optional<std::string> { return std::nullopt; },
                      },
                      op);
  }

  void failed(const Op& op) {
    if (auto* o = std::get_if<BridgeCreate>(&op)) missing_links.insert(o->name);
    if (auto* o = std::get_if<WgLinkCreate>(&op)) missing_links.insert(o->name);
    if (auto* o = std::get_if<LinkRename>(&op)) missing_links.insert(o->to);
    if (auto* o = std::get_if<AddrAdd>(&op)) missing_addrs.insert(o->addr.local.addr);
  }
};

// All nftables ops of the plan in one transaction: if the kernel rejects
// one, none is applied, and each op is reported failed (the rejected ones
// with the kernel's own error).
void apply_nft_transaction(const Plan& plan, KernelWriter& writer, ExecResult& r) {
  std::vector<const Op*> ops;
  std::vector<size_t> index;
  for (size_t i = 0; i < plan.ops.size(); i++)
    if (is_nft(plan.ops[i])) {
      ops.push_back(&plan.ops[i]);
      index.push_back(i);
    }
  std::vector<NftError> errors = writer.apply_nft(ops);
  if (errors.empty()) {
    r.applied.insert(r.applied.end(), index.begin(), index.end());
    return;
  }
  std::vector<std::optional<KernelError>> per_op(ops.size());
  std::string batch_error;
  for (const auto& e : errors) {
    if (e.index < ops.size()) {
      per_op[e.index] = e.error;
    } else {
      batch_error = e.error.message;
      if (e.stale) {
        r.stale = true;
        r.stale_why = e.error.message;
      }
    }
  }
  for (size_t i = 0; i < ops.size(); i++) {
    if (per_op[i]) {
      r.failures.push_back({*ops[i], *per_op[i], false});
    } else {
      std::string why = batch_error.empty() ? "not applied: the nftables transaction was rejected"
                                            : "not applied: " + batch_error;
      r.failures.push_back({*ops[i], {0, why}, true});
    }
  }
}

// The FlowsEnd ops from ops[i] on, which the planner puts together, in one
// call; `i` is left on the last of them.
void end_flows(const Plan& plan, size_t& i, KernelWriter& writer, const Dependencies& deps,
               ExecResult& r) {
  std::vector<const FlowsEnd*> ends;
  std::vector<size_t> index;
  for (; i < plan.ops.size() && std::holds_alternative<FlowsEnd>(plan.ops[i]); i++) {
    if (auto why = deps.blocked(plan.ops[i])) {
      r.failures.push_back({plan.ops[i], {0, "skipped: " + *why}, true});
      continue;
    }
    ends.push_back(&std::get<FlowsEnd>(plan.ops[i]));
    index.push_back(i);
  }
  i--;
  if (ends.empty()) return;
  const auto errors = writer.end_flows(ends);
  for (size_t k = 0; k < ends.size(); k++) {
    if (k < errors.size() && errors[k])
      r.failures.push_back({plan.ops[index[k]], *errors[k], false});
    else
      r.applied.push_back(index[k]);
  }
}

}  // namespace

ExecResult execute(const Plan& plan, KernelWriter& writer) {
  ExecResult r;
  Dependencies deps;
  const uint64_t before = writer.writes();
  const uint64_t tcp_before = writer.flows_ended(6), udp_before = writer.flows_ended(17);
  bool nft_done = false;
  for (size_t i = 0; i < plan.ops.size(); i++) {
    const Op& op = plan.ops[i];
    if (is_nft(op)) {
      if (!nft_done) {
        const size_t failures = r.failures.size();
        apply_nft_transaction(plan, writer, r);
        deps.nft_failed = r.failures.size() > failures;
      }
      nft_done = true;
      continue;
    }
    if (std::holds_alternative<FlowsEnd>(op)) {
      end_flows(plan, i, writer, deps, r);
      continue;
    }
    if (auto why = deps.blocked(op)) {
      r.failures.push_back({op, {0, "skipped: " + *why}, true});
      deps.failed(op);
      continue;
    }
    if (auto err = writer.apply(op)) {
      // The kernel says the device is down: someone set it down after the
      // snapshot (netkeep plans a link up before what needs it up).
      if (err->code == ENETDOWN && !r.stale) {
        r.stale = true;
        r.stale_why = "a link went down after the kernel's state was read";
      }
      r.failures.push_back({op, *err, false});
      deps.failed(op);
    } else {
      r.applied.push_back(i);
    }
  }
  r.write_requests = writer.writes() - before;
  r.flows_ended_tcp = writer.flows_ended(6) - tcp_before;
  r.flows_ended_udp = writer.flows_ended(17) - udp_before;
  return r;
}

std::string to_text(const OpFailure& f) {
  return fmt::format("{}: {}", to_text(f.op), f.error.message);
}

}  // namespace netkeep
