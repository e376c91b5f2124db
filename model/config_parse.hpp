// The per-file parsers behind load_config (model/config.hpp), over a file's
// text, and the daemon's incremental memo of portforwardings.json. Apart
// from config.hpp so that simdjson's header (1.3 MB) reaches only the
// files that parse.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.hpp"
#include "model/json_in.hpp"
#include "model/json_layout.hpp"

namespace netkeep {

// Per-file parsers over the file's text; nullopt when the file has errors.
std::optional<InterfacesConfig> parse_interfaces(std::string_view text, json::Sink& sink);
std::optional<Dhcp4Lease> parse_dhcp4_lease(std::string_view text, json::Sink& sink);
std::optional<Dhcp6Lease> parse_dhcp6_lease(std::string_view text, json::Sink& sink);
std::optional<WireGuardConfig> parse_wireguard(std::string_view text, json::Sink& sink);

// The daemon reads portforwardings.json again after every change, and a
// change is usually a line or two in a file of thousands. The memo keeps
// the last text that parsed cleanly in the plain shape ({"forwardings":
// [...]}, every entry a plain object of string values, no warning) with
// its rules and where each entry lies; a new text that differs from it
// only inside the array has just the entries between its first and last
// difference parsed. The result, errors included, is what a full parse
// gives (tests compare the two over random edits).
//
// When no two rules share a port (the usual file), the first-match runs
// are each rule's own ports, and a splice whose new rules share none with
// the rest takes the runs over too: the overlap analysis of the whole
// file, a table of every port, is skipped.
struct PortForwardingsMemo {
  bool valid = false;
  std::string text;
  std::vector<Forwarding> rules;  // as PortForwardings holds them
  std::vector<size_t> entry_of;   // the entry each rule came from
  json::ArrayLayout layout;
  std::vector<PortRun> runs;        // the rules' first-match runs
  bool disjoint = false;            // no rule shares a port with another
  uint64_t spliced = 0;             // parses that took entries over from the memo
  uint64_t runs_spliced = 0;        // and of those, the runs as well
  simdjson::dom::parser fragments;  // parses the edited part, its buffers kept
  std::string read_buffer;          // load_config reads the file into it
};
// `storage`, when given, is the string `text` views: the memo then takes
// the text over by swapping it with its last one (which the caller gets
// back, to read into next time) instead of copying 700 KB.
std::optional<PortForwardings> parse_portforwardings(std::string_view text, json::Sink& sink,
                                                     PortForwardingsMemo* memo = nullptr,
                                                     std::string* storage = nullptr);

// firewall.json's pinholes, like portforwardings.json's forwardings: the
// memo keeps the last text that parsed without a warning, its config and
// where its pinholes lie; a new text that differs from it only inside the
// "pinholes" array has just the entries between its first and last
// difference read. An edit anywhere else, or new entries with an error or
// a warning, get a full parse, so the result and its messages are always
// what a full parse gives (tests compare the two over random edits).
struct FirewallMemo {
  bool valid = false;
  std::string text;
  FirewallConfig config;
  json::ArrayLayout layout;  // the "pinholes" array
  uint64_t spliced = 0;      // parses that took pinholes over from the memo
  simdjson::dom::parser fragments;
};
std::optional<FirewallConfig> parse_firewall(std::string_view text, json::Sink& sink,
                                             FirewallMemo* memo = nullptr);

// What the daemon keeps from one read of the config to the next.
struct ConfigMemo {
  PortForwardingsMemo forwardings;
  FirewallMemo firewall;
};

}  // namespace netkeep
