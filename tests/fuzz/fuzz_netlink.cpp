// libFuzzer target: the netlink messages netkeep decodes itself, from dumps
// and from the multicast event groups: rtnetlink links, addresses, routes
// and neighbours; sock_diag's listening sockets; conntrack entries and
// events (matched against a FlowsEnd, the delete built from them, and the
// daemon's flow index kept by them); nftables rules (and their
// expressions, rendered as `show` and the plan print them) and event
// subjects; WireGuard and ethtool (FEC) generic netlink; and the daemon's
// relevance filters, which read events before any snapshot. The input is
// a stream of netlink messages as a recv() returns them.
//
// Not here: the decoders that hand a message to libnftnl (tables, chains,
// objects, sets, elements, generations). libnftnl ends the process on an
// attribute of the wrong type ("nf_tables kernel ABI is broken"), by
// design, since only the kernel writes these messages; a fuzzer can only
// rediscover that.
#include <linux/netlink.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/conntrack.hpp"
#include "backends/flow_index.hpp"
#include "backends/fec_codec.hpp"
#include "backends/nft_codec.hpp"
#include "backends/rtnl_addr.hpp"
#include "backends/rtnl_link.hpp"
#include "backends/rtnl_neigh.hpp"
#include "backends/rtnl_route.hpp"
#include "backends/sock_diag.hpp"
#include "backends/wg_codec.hpp"
#include "daemon/relevance.hpp"
#include "model/nft_text.hpp"

using namespace netkeep;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Aligned, as a receive buffer is.
  std::vector<uint32_t> buf((size + 3) / 4);
  std::memcpy(buf.data(), data, size);
  static const Actual last = [] {
    Actual a;
    a.links = {{"uplink0", "", {}, 1500, true, ""}, {"lan0", "bridge", {}, 1500, true, ""}};
    return a;
  }();
  // One index per input: its events add and remove entries, and a lookup
  // must find exactly what matches() says of what is left.
  FlowIndex flows;
  static const FlowsEnd range{17, {1000, 2000}, {10, 0, 0, 1}, {1000, 2000}, false, {}};
  int left = static_cast<int>(size);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
       left > 0 && NLMSG_OK(nlh, static_cast<unsigned>(left)); nlh = NLMSG_NEXT(nlh, left)) {
    (void)rtnl::decode_link(nlh);
    (void)rtnl::decode_addr(nlh);
    (void)rtnl::decode_route(nlh);
    (void)rtnl::decode_neigh(nlh);
    (void)sock_diag::decode(nlh, IPPROTO_TCP);
    if (auto r = nft::decode_rule(nlh)) (void)rule_text(r->rule.body);
    (void)nft::decode_subject(nlh);
    WgDeviceState wg;
    (void)wg::decode_device(nlh, wg);
    (void)fec::decode(nlh);
    if (auto e = conntrack::decode(nlh)) {
      (void)conntrack::matches(*e, range);
      (void)conntrack::encode_delete(*e);
    }
    (void)flows.apply(nlh);
    std::string why;
    (void)rtnl_relevant(
        nlh, last, [](int i) { return i == 1 ? std::string("lo") : std::string(); }, &why);
    (void)nft_relevant(nlh, &why);
  }
  const auto found = flows.find({&range}).front();
  for (const auto& e : found)
    if (!conntrack::matches(e, range)) __builtin_trap();
  flows.forget(found);
  if (!flows.find({&range}).front().empty()) __builtin_trap();
  return 0;
}
