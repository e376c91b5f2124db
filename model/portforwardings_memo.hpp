// The memo's incremental re-parse of portforwardings.json (PortForwardingsMemo,
// model/config.hpp): what parse_portforwardings and the memo's own file
// (config_portforwardings_memo.cpp) share. Internal to the model.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "model/config_parse.hpp"
#include "model/json_in.hpp"
#include "model/json_layout.hpp"

namespace netkeep::pf_parse {

// Every entry expanded to one rule per protocol, and the entry of each.
struct Rules {
  std::vector<Forwarding> rules;
  std::vector<size_t> entry_of;

  void add(const Forwarding& f, size_t entry) {
    rules.push_back(f);
    entry_of.push_back(entry);
  }
  // An entry in the common shape (an object of known keys whose values are
  // all valid), read in one pass; false, adding nothing, for any other.
  bool add_quick(json::element e, size_t entry);
};

// Where the new text's entries came from: the memo's rules [front, back)
// were replaced by `added` rules, from `front` on.
struct Spliced {
  size_t front = 0, back = 0;
  size_t added = 0;
};

// The new text read from the memo's: when it differs only inside the
// forwardings array, the entries wholly before and wholly after the
// difference are taken over, and only those between are parsed. false
// (nothing learned) for anything else: the caller parses in full. The
// memo's rules and layout are taken and edited in place: the memo is
// invalid until the caller stores the new text's.
bool splice(PortForwardingsMemo& m, std::string_view t, Rules& out, json::ArrayLayout& layout,
            Spliced& where);

// The first-match runs after a splice when no two rules share a port;
// nullopt when they would (see the definition).
std::optional<std::vector<PortRun>> runs_after_splice(PortForwardingsMemo& m, size_t front,
                                                      size_t back, size_t added,
                                                      const std::vector<Forwarding>& rules);

}  // namespace netkeep::pf_parse
