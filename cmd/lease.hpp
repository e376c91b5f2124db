// `netkeep lease`: the script Debian's DHCP clients call (SPEC §2,
// "Leases from Debian's DHCP clients").
#pragma once

#include <string>
#include <vector>

namespace netkeep {

// `args` are what follows "lease" on the command line; `config` the
// --config given before it (or the default).
int cmd_lease(std::string config, const std::vector<std::string>& args);

}  // namespace netkeep
