#include "cmd/doctor.hpp"

#include <fmt/format.h>

#include <ctime>

#include "backends/linux_kernel.hpp"
#include "backends/resolver.hpp"
#include "cmd/snapshot.hpp"
#include "model/config.hpp"
#include "reconciler/doctor.hpp"

namespace netkeep {

int cmd_doctor(const std::filesystem::path& config, const std::filesystem::path& root, bool json) {
  auto kernel = open_kernel(root);
  if (!kernel) return 1;
  // Its config messages are findings, below.
  const Prepared p = prepare(config, *kernel, resolve_host);
  if (p.snapshot_error) {
    fmt::print(stderr, "netkeep: reading the kernel's state: {}\n", p.snapshot_error->str());
    return 1;
  }
  auto survey = kernel->survey();
  if (!survey) {
    fmt::print(stderr, "netkeep: {}\n", survey.error().str());
    return 1;
  }
  survey->now = std::time(nullptr);
  std::vector<Finding> findings;
  // A config file that fails to validate freezes what it governs.
  for (const auto& d : p.diags)
    if (d.severity == Severity::error)
      findings.push_back({Severity::error, d.str(),
                          "fix the file; until then netkeep leaves what it governs as it is"});
  for (auto& f : diagnose(p.desired, p.actual, p.plan, *survey)) findings.push_back(std::move(f));
  if (json) {
    fmt::print("{}", to_json(findings));
  } else {
    for (const auto& f : findings) fmt::print("{}\n", to_text(f));
    if (findings.empty()) fmt::print("netkeep doctor: nothing found\n");
  }
  const bool errors = std::any_of(findings.begin(), findings.end(),
                                  [](const Finding& f) { return f.severity == Severity::error; });
  return errors ? 1 : findings.empty() ? 0 : 2;
}

}  // namespace netkeep
