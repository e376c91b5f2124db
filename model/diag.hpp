// Diagnostics carry the file, the JSON path and the offending value, so an
// operator can find the mistake without reading netkeep's source.
#pragma once

#include <string>
#include <vector>

namespace netkeep {

enum class Severity { warning, error };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string file;     // relative to the config dir, e.g. "interfaces.json"
  std::string path;     // JSON path, e.g. "interfaces[1].mtu"; empty for the whole file
  std::string message;  // names the offending value

  bool operator==(const Diagnostic&) const = default;
  std::string str() const;  // "interfaces.json: interfaces[1].mtu: 70000 is not ..."
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& d);

}  // namespace netkeep
