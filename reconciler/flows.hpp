// Which flows in flight a plan's forwarding changes end (reconciler/op.hpp,
// FlowsEnd): a port whose DNAT the plan deletes and does not add again to
// the same destination and port. A forwarding moved between the single-port
// and the range map with the same destination ends nothing; nor does a
// reconcile that changes no forwarding.
#pragma once

#include <cstddef>
#include <vector>

#include "reconciler/op.hpp"

namespace netkeep {

// Appends the FlowsEnd ops for the forwarding ops among ops[from, end) right
// after the last nftables op: the executor runs them once the transaction
// has committed. `keep_tcp` (portforwardings.json): TCP connections keep
// their old destination until they close.
void plan_flows(std::vector<Op>& ops, size_t from, bool keep_tcp);

}  // namespace netkeep
