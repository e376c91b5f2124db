#include "reconciler/executor.hpp"

#include <fmt/format.h>

#include <set>

#include "reconciler/plan_print.hpp"

namespace netkeep {

namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

// What must have succeeded for an op to make sense. A link that failed to
// be created or renamed does not exist under its new name; a route whose
// source address failed to be added would be rejected.
struct Dependencies {
  std::set<std::string> missing_links;
  std::set<IpAddr> missing_addrs;

  std::optional<std::string> blocked(const Op& op) const {
    auto link = [&](const std::string& dev) -> std::optional<std::string> {
      if (missing_links.contains(dev)) return fmt::format("link {} is missing", dev);
      return std::nullopt;
    };
    return std::visit(
        Overload{
            [&](const LinkSetMtu& o) { return link(o.dev); },
            [&](const LinkSetMac& o) { return link(o.dev); },
            [&](const LinkSetUp& o) { return link(o.dev); },
            [&](const LinkSetMaster& o) {
              auto b = link(o.dev);
              return b ? b : link(o.master);
            },
            [&](const AddrAdd& o) { return link(o.addr.dev); },
            [&](const RouteReplace& o) -> std::optional<std::string> {
              if (auto b = link(o.route.dev)) return b;
              if (o.route.prefsrc && missing_addrs.contains(*o.route.prefsrc))
                return fmt::format("source address {} is missing", o.route.prefsrc->str());
              return std::nullopt;
            },
            [&](const auto&) -> std::optional<std::string> { return std::nullopt; },
        },
        op);
  }

  void failed(const Op& op) {
    if (auto* o = std::get_if<BridgeCreate>(&op)) missing_links.insert(o->name);
    if (auto* o = std::get_if<LinkRename>(&op)) missing_links.insert(o->to);
    if (auto* o = std::get_if<AddrAdd>(&op)) missing_addrs.insert(o->addr.local.addr);
  }
};

}  // namespace

ExecResult execute(const Plan& plan, KernelWriter& writer) {
  ExecResult r;
  Dependencies deps;
  uint64_t before = writer.writes();
  for (const Op& op : plan.ops) {
    if (auto why = deps.blocked(op)) {
      r.failures.push_back({op, {0, "skipped: " + *why}, true});
      deps.failed(op);
      continue;
    }
    if (auto err = writer.apply(op)) {
      r.failures.push_back({op, *err, false});
      deps.failed(op);
    } else {
      r.applied.push_back(op);
    }
  }
  r.write_requests = writer.writes() - before;
  return r;
}

std::string to_text(const OpFailure& f) { return fmt::format("{}: {}", to_text(f.op), f.error.message); }

}  // namespace netkeep
