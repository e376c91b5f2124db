// What the daemon keeps from one reconcile to the next (reconcile.hpp):
// with it, a change of a line in a file of 10,000 entries is read and
// planned as that line, not as the whole file.
#pragma once

#include "model/config_parse.hpp"
#include "reconciler/pinhole_keys.hpp"

namespace netkeep {

struct ReconcileMemo {
  ConfigMemo config;     // the config files' last parse (load_config)
  PinholeKeys pinholes;  // the pinhole sets' last elements (plan)
};

}  // namespace netkeep
