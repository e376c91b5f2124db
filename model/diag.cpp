#include "model/diag.hpp"

namespace netkeep {

std::string Diagnostic::str() const {
  std::string s = file;
  if (!path.empty()) s += ": " + path;
  s += ": " + message;
  return severity == Severity::warning ? "warning: " + s : s;
}

bool has_errors(const Diagnostics& d) {
  for (const auto& x : d)
    if (x.severity == Severity::error) return true;
  return false;
}

}  // namespace netkeep
