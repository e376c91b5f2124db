// libFuzzer target: the config files and the lease files. The first byte
// picks the parser, the rest is the file. Every input must either parse or
// be reported with at least one error, and no diagnostic may quote more
// than a bounded part of the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/config_parse.hpp"

using namespace netkeep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // Each file's parser, as load_config calls it.
  static const struct {
    const char* file;
    bool (*parse)(std::string_view, json::Sink&);
  } kParsers[] = {
      {kInterfacesFile, [](std::string_view t, json::Sink& s) { return !!parse_interfaces(t, s); }},
      {kDhcp4File, [](std::string_view t, json::Sink& s) { return !!parse_dhcp4_lease(t, s); }},
      {kDhcp6File, [](std::string_view t, json::Sink& s) { return !!parse_dhcp6_lease(t, s); }},
      {kWireGuardFile, [](std::string_view t, json::Sink& s) { return !!parse_wireguard(t, s); }},
      {kFirewallFile, [](std::string_view t, json::Sink& s) { return !!parse_firewall(t, s); }},
  };
  const auto& p = kParsers[data[0] % std::size(kParsers)];
  Diagnostics diags;
  json::Sink sink{p.file, &diags};
  const bool ok = p.parse(text, sink) && sink.errors == 0;
  if (!ok && !has_errors(diags)) std::abort();  // refused without saying why
  for (const auto& d : diags)
    if (d.message.size() > 400) std::abort();  // an unbounded echo of the input
  return 0;
}
