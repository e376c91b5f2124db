// libFuzzer target: the config files and the lease files. The first byte
// picks the parser, the rest is the file. Every input must either parse or
// be reported with at least one error, and no diagnostic may quote more
// than a bounded part of the input. firewall.json is also parsed through
// the daemon's memo, primed with the text before a NUL byte (if any): the
// text after it must parse exactly as it does in full.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/config_parse.hpp"

using namespace netkeep;

namespace {

std::string diag_text(const Diagnostics& d) {
  std::string s;
  for (const auto& x : d) s += x.str() + "\n";
  return s;
}

void firewall_memo_agrees(std::string_view in) {
  const size_t cut = in.find('\0');
  if (cut == std::string_view::npos) return;
  FirewallMemo memo;
  for (std::string_view text : {in.substr(0, cut), in.substr(cut + 1)}) {
    Diagnostics with, without;
    json::Sink a{kFirewallFile, &with}, b{kFirewallFile, &without};
    if (parse_firewall(text, a, &memo) != parse_firewall(text, b) ||
        diag_text(with) != diag_text(without))
      std::abort();
  }
}

}  // namespace

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
  if (std::string_view(p.file) == kFirewallFile) firewall_memo_agrees(text);
  return 0;
}
