// libFuzzer target: the config files and the lease files. The first byte
// picks the parser, the rest is the file. Every input must either parse or
// be reported with at least one error, and no diagnostic may quote more
// than a bounded part of the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/config.hpp"

using namespace netkeep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Diagnostics diags;
  bool ok = false;
  switch (data[0] % 4) {
    case 0: {
      json::Sink sink{kInterfacesFile, &diags};
      ok = parse_interfaces(text, sink).has_value() && sink.errors == 0;
      break;
    }
    case 1: {
      json::Sink sink{kDhcp4File, &diags};
      ok = parse_dhcp4_lease(text, sink).has_value() && sink.errors == 0;
      break;
    }
    case 2: {
      json::Sink sink{kDhcp6File, &diags};
      ok = parse_dhcp6_lease(text, sink).has_value() && sink.errors == 0;
      break;
    }
    case 3: {
      json::Sink sink{kWireGuardFile, &diags};
      ok = parse_wireguard(text, sink).has_value() && sink.errors == 0;
      break;
    }
  }
  if (!ok && !has_errors(diags)) std::abort();  // refused without saying why
  for (const auto& d : diags)
    if (d.message.size() > 400) std::abort();  // an unbounded echo of the input
  return 0;
}
