// libFuzzer target: DHCP clients' script environments (netkeep lease).
// The input is lines of NAME=VALUE, as dhcpcd and udhcpc set them; a first
// line without '=' is the udhcpc event (dhcpcd otherwise). Nothing may
// crash; a refusal names a variable; a lease written reads back, through
// the config parser, as the same lease.
#include <cstdint>
#include <string>
#include <string_view>

#include "model/config_parse.hpp"
#include "model/lease_env.hpp"
#include "model/lease_file.hpp"

using namespace netkeep;

namespace {

template <class Lease>
void reads_back(const Lease& l, std::string (*render)(const Lease&),
                std::optional<Lease> (*parse)(std::string_view, json::Sink&)) {
  Diagnostics diags;
  json::Sink sink{"lease.json", &diags};
  auto back = parse(render(l), sink);
  if (!back || !(*back == l) || !diags.empty()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Env env;
  std::string event;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (first) event = line;
    } else {
      env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    first = false;
    pos = end + 1;
  }
  const int64_t now = 1780000000;
  auto a = event.empty() ? dhcpcd_action(env, now) : udhcpc_action(event, env, now, size % 2);
  if (!a) {
    if (a.error().variable.empty() || a.error().str().empty()) __builtin_trap();
    return 0;
  }
  if (a->v4 == LeaseAction::Kind::bind) reads_back(a->lease4, render_dhcp4_lease, parse_dhcp4_lease);
  if (a->v6 == LeaseAction::Kind::bind) reads_back(a->lease6, render_dhcp6_lease, parse_dhcp6_lease);
  return 0;
}
