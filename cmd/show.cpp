#include "cmd/show.hpp"

#include <fmt/format.h>

#include <ctime>

#include "cmd/snapshot.hpp"
#include "model/actual_json.hpp"
#include "model/config.hpp"
#include "model/lease_file.hpp"
#include "reconciler/nft_desired.hpp"
#include "reconciler/nft_protect.hpp"
#include "reconciler/plan_print.hpp"

namespace netkeep {

int cmd_show(const std::filesystem::path& config, const std::filesystem::path& root, bool json) {
  Actual x;
  if (!open_kernel(root, x)) return 1;
  // The leases as their files say (show reads no other config file).
  Diagnostics lease_diags;
  const Leases leases = load_leases(config, lease_diags);
  const int64_t now = std::time(nullptr);
  if (json) {
    fmt::print("{}", to_json(x, true, "\"leases\": " + leases_json(leases, now)));
    return 0;
  }
  for (const auto& l : x.links)
    fmt::print("link {} {}{} mtu {} address {}{}\n", l.name, l.kind.empty() ? "" : l.kind + " ",
               l.up ? "up" : "down", l.mtu, l.mac.str(),
               l.master.empty() ? "" : " master " + l.master);
  for (const auto& ad : x.addrs) fmt::print("addr {} proto {}\n", addr_text(ad), ad.proto);
  for (const auto& r : x.routes) fmt::print("route {}\n", route_text(r));
  for (const auto& [k, v] : x.sysctls) fmt::print("sysctl {} = {}\n", sysctl_dotted(k), v);
  for (const auto& w : x.wireguard)
    fmt::print("wireguard {} listen-port {} private-key {} peers {}\n", w.name, w.listen_port,
               w.private_key.empty() ? "(none)" : "(hidden)", w.peers.size());
  for (const auto& [dev, mode] : x.fec) fmt::print("fec {} {}\n", dev, mode);
  fmt::print("lease dhcp4: {}\n", lease_summary(leases.dhcp4, now));
  fmt::print("lease dhcp6: {}\n", lease_summary(leases.dhcp6, now));
  // Each port interval a forwarding wins: the connections it forwarded, and
  // their packets and bytes in both directions.
  for (const auto& f : forwarding_counts(x.nft.maps))
    fmt::print("{} connections {} packets {} bytes {}\n",
               to_text(NftForwardAdd{NftFamily::ip,
                                     "nat",
                                     forwarding_map(f.proto, shape_of(f.elem)),
                                     f.proto,
                                     f.elem,
                                     {}})
                   .substr(2),
               f.connections, f.packets, f.bytes);
  for (const auto& line : protection_lines(x.nft)) fmt::print("{}\n", line);
  for (const auto& [path, f] : x.files) {
    const char* kinds[] = {"missing", "regular file", "symlink", "other"};
    fmt::print("file {}: {}\n", path, kinds[static_cast<int>(f.kind)]);
  }
  return 0;
}

}  // namespace netkeep
