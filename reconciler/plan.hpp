// plan(desired, actual) -> Plan: a pure function. It neither reads nor
// writes the kernel; the same inputs give the same Plan, op for op.
#pragma once

#include <map>
#include <set>
#include <string>

#include "model/actual.hpp"
#include "model/desired.hpp"
#include "reconciler/op.hpp"

namespace netkeep {

struct PinholeKeys;  // reconciler/pinhole_keys.hpp

// `pinholes`: the daemon's pinhole set elements, kept from one plan to the
// next and brought to `desired` by keep_pinhole_keys (plan_protect.hpp)
// before; read only. The plan is the same without them.
Plan plan(const Desired& desired, const Actual& actual, const PinholeKeys* pinholes = nullptr);

// The link phase, exposed for the address/route phases and for tests.
struct LinkView {
  std::map<std::string, std::string> final_name;  // current name -> name after the link ops
  std::set<std::string> names;                    // every link name after the link ops
  // interfaces.json entries that matched a link (by index), keyed by their name.
  std::vector<const InterfaceSpec*> matched;

  std::string after(const std::string& current) const;  // current name -> final name
  std::string before(const std::string& final) const;   // final name -> current name
  bool exists(const std::string& name) const { return names.contains(name); }
  std::string uplink() const;  // first of uplink0, eth0, ens3; "uplink0" when none
};

LinkView plan_links(const Desired& desired, const Actual& actual, std::vector<Op>& ops);
void plan_wireguard(const Desired& desired, const Actual& actual, const LinkView& view, Plan& plan);
void plan_fec(const Desired& desired, const Actual& actual, const LinkView& view, Plan& plan);
void plan_nft(const Desired& desired, const Actual& actual, const LinkView& view,
              std::vector<Op>& ops, std::vector<std::string>& warnings,
              const PinholeKeys* pinholes = nullptr);
// The nftables ops that put the owned objects back as `before` had them
// (reconciler/restore.hpp).
void plan_nft_restore(const NftState& before, const NftState& now, std::vector<Op>& ops);

}  // namespace netkeep
