// First match in file order: which forwarding takes each port of a
// protocol, as router7's (and any nftables) rule list decides it. Used to
// warn about shadowed entries and to compile forwardings into the
// disjoint port intervals a map can hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "model/desired.hpp"

namespace netkeep {

// What an earlier forwarding already took of a later one's ports.
struct Shadow {
  uint32_t ports = 0;              // how many of its ports earlier forwardings take
  std::optional<size_t> first_by;  // the forwarding that takes the lowest of them
};

// Claims ports in the order forwardings are given. Each port is visited
// once whatever the ranges (a port-indexed "next free port" forest), so
// 10,000 forwardings of wide ranges cost what 65,536 ports cost.
class FirstMatch {
 public:
  // Forwarding `index` claims its ports; returns how many an earlier one had.
  Shadow claim(size_t index, const Forwarding& f);
  // Every taken port, as runs in protocol then port order (tcp first).
  std::vector<PortRun> runs() const;

 private:
  // Zero means free (and, in `next`, "this port itself"): a new table is
  // one zero fill.
  struct Table {
    std::vector<uint32_t> next;   // next[p]: 0 when p is free, else a port > p that may be
    std::vector<uint32_t> owner;  // owner[p]: the claiming forwarding's index + 1, 0 free
  };
  Table& table(uint8_t proto);
  static uint32_t find_free(Table& t, uint32_t p);
  Table tcp_, udp_;
};

// The forwardings as first-match runs (what the kernel must do for each port).
std::vector<PortRun> first_match_runs(const std::vector<Forwarding>& forwardings);

}  // namespace netkeep
