#include "daemon/metrics.hpp"

#include <fmt/format.h>

#include "model/desired.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"

namespace netkeep {

void Metrics::reconciled(bool ok, double seconds, double now_unix) {
  reconciles_[ok ? "ok" : "error"]++;
  for (size_t i = 0; i < kBuckets.size(); i++)
    if (seconds <= kBuckets[i]) buckets_[i]++;
  duration_count_++;
  duration_sum_ += seconds;
  if (ok) last_success_ = now_unix;
}

std::string log_metrics(uint64_t lines_dropped) {
  return fmt::format(
      "# HELP netkeep_log_lines_dropped_total Log lines dropped because the log's reader was "
      "behind.\n# TYPE netkeep_log_lines_dropped_total counter\n"
      "netkeep_log_lines_dropped_total {}\n",
      lines_dropped);
}

std::string Metrics::render(const std::vector<NftCounter>& counters, uint64_t nft_dumps,
                            const std::vector<NftMap>& forwardings,
                            const std::vector<NftKeySet>& pinholes,
                            uint64_t conntrack_dumps) const {
  std::string out;
  // router7: counters fwded, inputc, outputc of table filter, per family.
  struct Name {
    const char* counter;
    const char* metric;
  };
  for (const Name& n :
       {Name{"fwded", "forward"}, Name{"inputc", "input"}, Name{"outputc", "output"}}) {
    for (const char* unit : {"packets", "bytes"}) {
      // router7's names, kept for its dashboards (without the _total a
      // counter's name would have today).
      out += fmt::format(
          "# HELP nftables_filter_{}_{} {} of counter {} in table filter, by family (router7's "
          "metric).\n# TYPE nftables_filter_{}_{} counter\n",
          n.metric, unit, unit[0] == 'p' ? "Packets" : "Bytes", n.counter, n.metric, unit);
      for (const auto& c : counters) {
        if (c.table != "filter" || c.name != n.counter) continue;
        const char* family = c.family == NftFamily::ip    ? "ipv4"
                             : c.family == NftFamily::ip6 ? "ipv6"
                                                          : "inet";
        out += fmt::format("nftables_filter_{}_{}{{family=\"{}\"}} {}\n", n.metric, unit, family,
                           unit[0] == 'p' ? c.packets : c.bytes);
      }
    }
  }
  // Protection (firewall.json): what each of its chains dropped or refused
  // with a reset (both: the packet goes no further), and of that what it
  // refused, by family and hook. Only while its counters exist.
  auto protection = [&](const char* metric, const char* help, bool rejected_only) {
    std::string lines;
    for (NftFamily f : {NftFamily::ip, NftFamily::ip6})
      for (const char* chain : {"lan", "router"}) {
        uint64_t n = 0;
        bool any = false;
        for (const auto& c : counters) {
          if (c.family != f || c.table != "netkeep") continue;
          const bool rejected = c.name == fmt::format("{}-rejected", chain);
          if (!rejected && (rejected_only || c.name != fmt::format("{}-dropped", chain))) continue;
          n += c.packets;
          any = true;
        }
        if (any)
          lines += fmt::format("{}{{family=\"{}\",hook=\"{}\"}} {}\n", metric,
                               f == NftFamily::ip ? "ipv4" : "ipv6",
                               chain[0] == 'l' ? "forward" : "input", n);
      }
    if (!lines.empty())
      out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", metric, help, metric) + lines;
  };
  protection("netkeep_protection_dropped_packets_total",
             "Packets from the uplink that protection (firewall.json) dropped or refused.", false);
  protection("netkeep_protection_rejected_packets_total",
             "Of those, the TCP segments protection answered with a reset.", true);
  // Per pinhole element (a host, protocol and port): the packets it let in.
  std::string pins;
  for (const auto& k : pinholes)
    for (const auto& e : k.elems)
      if (auto p = pinhole_of(k.family, e))
        pins += fmt::format(
            "netkeep_pinhole_packets_total{{proto=\"{}\",port=\"{}\",dest=\"{}\"}} {}\n",
            p->proto == 6 ? "tcp" : p->proto == 17 ? "udp" : std::to_string(p->proto), p->port,
            p->addr.str(), e.packets);
  if (!pins.empty())
    out += "# HELP netkeep_pinhole_packets_total Packets each pinhole (firewall.json) let in, by "
           "its host, protocol and port.\n# TYPE netkeep_pinhole_packets_total counter\n" +
           pins;
  // Per forwarding (each port interval it wins): the connections its map
  // element counted, and their packets and bytes from its count set's.
  struct Series {
    const char* name;
    const char* help;
  };
  const Series series[] = {
      {"connections", "Connections forwarded (the NAT chain sees each one's first packet)."},
      {"packets", "Packets of forwarded connections, both directions."},
      {"bytes", "Bytes of forwarded connections, both directions."}};
  const std::vector<ForwardingCounts> counted = forwarding_counts(forwardings);
  for (const Series& x : series) {
    out += fmt::format(
        "# HELP netkeep_forwarding_{}_total {}\n# TYPE netkeep_forwarding_{}_total counter\n",
        x.name, x.help, x.name);
    for (const auto& f : counted) {
      const NftMapElem& e = f.elem;
      const uint64_t v = x.name[0] == 'c' ? f.connections : x.name[0] == 'p' ? f.packets : f.bytes;
      out += fmt::format(
          "netkeep_forwarding_{}_total{{proto=\"{}\",port=\"{}\",dest=\"{}:{}\"}} {}\n", x.name,
          f.proto == 17 ? "udp" : "tcp", PortRange{e.first, e.last}.str(),
          IpAddr::from_bytes(e.addr.data(), 4)->str(), PortRange{e.to_first, e.to_last}.str(), v);
    }
  }
  out +=
      "# HELP netkeep_reconciles_total Reconciles run, by result.\n# TYPE netkeep_reconciles_total "
      "counter\n";
  for (const auto& [result, n] : reconciles_)
    out += fmt::format("netkeep_reconciles_total{{result=\"{}\"}} {}\n", result, n);
  out +=
      "# HELP netkeep_reconcile_duration_seconds Time a reconcile takes, from reading the "
      "config to its last write.\n"
      "# TYPE netkeep_reconcile_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); i++)
    out += fmt::format("netkeep_reconcile_duration_seconds_bucket{{le=\"{}\"}} {}\n", kBuckets[i],
                       buckets_[i]);
  out +=
      fmt::format("netkeep_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", duration_count_);
  out += fmt::format("netkeep_reconcile_duration_seconds_sum {}\n", duration_sum_);
  out += fmt::format("netkeep_reconcile_duration_seconds_count {}\n", duration_count_);
  out +=
      "# HELP netkeep_ops_applied_total Ops applied, by kind.\n# TYPE netkeep_ops_applied_total "
      "counter\n";
  for (const auto& [kind, n] : ops_applied_)
    out += fmt::format("netkeep_ops_applied_total{{kind=\"{}\"}} {}\n", kind, n);
  out +=
      "# HELP netkeep_conntrack_deleted_total Conntrack entries deleted because their "
      "forwarding changed or went (flows in flight moved or ended), by protocol.\n"
      "# TYPE netkeep_conntrack_deleted_total counter\n";
  out +=
      fmt::format("netkeep_conntrack_deleted_total{{proto=\"tcp\"}} {}\n", conntrack_deleted_[0]);
  out +=
      fmt::format("netkeep_conntrack_deleted_total{{proto=\"udp\"}} {}\n", conntrack_deleted_[1]);
  out +=
      "# HELP netkeep_conntrack_dumps_total Reads of the whole conntrack table to find flows in "
      "flight (the index kept from conntrack events was not in sync: first use, lost events).\n"
      "# TYPE netkeep_conntrack_dumps_total counter\n";
  out += fmt::format("netkeep_conntrack_dumps_total {}\n", conntrack_dumps);
  out +=
      "# HELP netkeep_drift_events_total Events that asked for a reconcile, by source.\n"
      "# TYPE netkeep_drift_events_total counter\n";
  for (const auto& [source, n] : drift_events_)
    out += fmt::format("netkeep_drift_events_total{{source=\"{}\"}} {}\n", source, n);
  out +=
      "# HELP netkeep_nftables_dumps_total Full dumps of the owned nftables objects (their view "
      "was not current).\n# TYPE netkeep_nftables_dumps_total counter\n";
  out += fmt::format("netkeep_nftables_dumps_total {}\n", nft_dumps);
  out +=
      "# HELP netkeep_last_success_timestamp_seconds When the last successful reconcile ended.\n"
      "# TYPE netkeep_last_success_timestamp_seconds gauge\n";
  out += fmt::format("netkeep_last_success_timestamp_seconds {:.3f}\n", last_success_);
  // run --confirm
  out +=
      "# HELP netkeep_rollbacks_total Rollbacks to the last good config, by reason (check: a "
      "check failed; deadline: not confirmed in time).\n# TYPE netkeep_rollbacks_total counter\n";
  for (const auto& [reason, n] : rollbacks_)
    out += fmt::format("netkeep_rollbacks_total{{reason=\"{}\"}} {}\n", reason, n);
  out +=
      "# HELP netkeep_confirm_pending Whether a new config waits for its checks (1) or not (0).\n"
      "# TYPE netkeep_confirm_pending gauge\n";
  out += fmt::format("netkeep_confirm_pending {}\n", confirm_pending_ ? 1 : 0);
  out +=
      "# HELP netkeep_last_good_timestamp_seconds When the last good config was kept (0: none "
      "yet).\n# TYPE netkeep_last_good_timestamp_seconds gauge\n";
  out += fmt::format("netkeep_last_good_timestamp_seconds {:.3f}\n", last_good_);
  out +=
      "# HELP netkeep_lease_valid_until_seconds When the DHCP lease in force ends, as its lease "
      "file says (0: none in force, or no end time). Informational: the DHCP client is the "
      "authority.\n# TYPE netkeep_lease_valid_until_seconds gauge\n";
  out += fmt::format("netkeep_lease_valid_until_seconds{{family=\"ipv4\"}} {}\n",
                     lease_valid_until_[0]);
  out += fmt::format("netkeep_lease_valid_until_seconds{{family=\"ipv6\"}} {}\n",
                     lease_valid_until_[1]);
  return out;
}

}  // namespace netkeep
