#include "model/first_match.hpp"

#include <netinet/in.h>

namespace netkeep {

namespace {
constexpr uint32_t kNone = 65536;  // past the last port
}

FirstMatch::Table& FirstMatch::table(uint8_t proto) {
  Table& t = proto == IPPROTO_UDP ? udp_ : tcp_;
  if (t.next.empty()) {
    t.next.resize(kNone + 1);
    t.owner.resize(kNone);
  }
  return t;
}

// The lowest free port >= p (kNone when none), halving the paths it walks.
// kNone is never claimed, so every path ends there at the latest.
uint32_t FirstMatch::find_free(Table& t, uint32_t p) {
  while (t.next[p]) {
    const uint32_t up = t.next[p];
    if (t.next[up]) t.next[p] = t.next[up];
    p = t.next[p];
  }
  return p;
}

Shadow FirstMatch::claim(size_t index, const Forwarding& f) {
  Table& t = table(f.proto);
  Shadow s;
  uint32_t at = f.port.first;
  const uint32_t last = f.port.last;
  while (at <= last) {
    const uint32_t free = find_free(t, at);
    if (free > at) {  // ports at .. free-1 were taken earlier
      if (!s.first_by) s.first_by = t.owner[at] - 1;
      s.ports += std::min(free - 1, last) - at + 1;
    }
    if (free > last) break;
    t.owner[free] = uint32_t(index + 1);
    t.next[free] = free + 1;
    at = free + 1;
  }
  return s;
}

std::vector<PortRun> FirstMatch::runs() const {
  std::vector<PortRun> out;
  for (const auto& [proto, t] : {std::pair<uint8_t, const Table*>{IPPROTO_TCP, &tcp_},
                                 std::pair<uint8_t, const Table*>{IPPROTO_UDP, &udp_}}) {
    if (t->owner.empty()) continue;
    for (uint32_t p = 1; p < kNone; p++) {
      const uint32_t o = t->owner[p];
      if (!o) continue;
      if (!out.empty() && out.back().proto == proto && out.back().forwarding == o - 1 &&
          out.back().ports.last == p - 1)
        out.back().ports.last = uint16_t(p);
      else
        out.push_back({proto, {uint16_t(p), uint16_t(p)}, o - 1});
    }
  }
  return out;
}

std::vector<PortRun> first_match_runs(const std::vector<Forwarding>& forwardings) {
  FirstMatch m;
  for (size_t i = 0; i < forwardings.size(); i++) m.claim(i, forwardings[i]);
  return m.runs();
}

}  // namespace netkeep
