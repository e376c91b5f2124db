// The daemon's Prometheus metrics, rendered in the text exposition format.
// nftables counter names follow router7, so existing dashboards keep working.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/nft.hpp"

namespace netkeep {

// The log's own counter (daemon/log.hpp): lines dropped while its reader
// was behind.
std::string log_metrics(uint64_t lines_dropped);

class Metrics {
 public:
  void reconciled(bool ok, double seconds, double now_unix);
  void applied(const std::string& kind) { ops_applied_[kind]++; }
  void event(const std::string& source) { drift_events_[source]++; }
  // run --confirm
  void rolled_back(const std::string& reason) { rollbacks_[reason]++; }
  void confirm_pending(bool p) { confirm_pending_ = p; }
  void last_good(double unix_time) { last_good_ = unix_time; }
  // When the leases in force end (Unix seconds; 0: none, or no end time).
  void leases(int64_t v4, int64_t v6) { lease_valid_until_ = {v4, v6}; }
  void flows_ended(uint64_t tcp, uint64_t udp) {
    conntrack_deleted_[0] += tcp;
    conntrack_deleted_[1] += udp;
  }

  // The text for GET /metrics; `counters` are the owned counters as read now.
  // `nft_dumps`: full dumps of the owned nftables objects so far (the view
  // of them was not current; see backends/nft_view.hpp).
  // `forwardings`: the forwarding maps, with their elements' counters;
  // `pinholes`: protection's pinhole sets, the same; `conntrack_dumps`:
  // reads of the whole conntrack table for flows in flight (the flow index
  // was not in sync; backends/flow_index.hpp).
  std::string render(const std::vector<NftCounter>& counters, uint64_t nft_dumps = 0,
                     const std::vector<NftMap>& forwardings = {},
                     const std::vector<NftKeySet>& pinholes = {},
                     uint64_t conntrack_dumps = 0) const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};
  std::map<std::string, uint64_t> reconciles_{{"ok", 0}, {"error", 0}};
  std::array<uint64_t, kBuckets.size()> buckets_{};
  uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  std::map<std::string, uint64_t> ops_applied_;
  std::array<uint64_t, 2> conntrack_deleted_{};  // tcp, udp
  std::map<std::string, uint64_t> drift_events_;
  double last_success_ = 0;
  std::map<std::string, uint64_t> rollbacks_{{"check", 0}, {"deadline", 0}};
  bool confirm_pending_ = false;
  double last_good_ = 0;
  std::array<int64_t, 2> lease_valid_until_{};
};

}  // namespace netkeep
