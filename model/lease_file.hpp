// The lease files' text, exactly as router7's DHCP clients write them
// (Go's encoding/json of their Config structs: compact, fields in this
// order), so router7's clients and `netkeep lease` are interchangeable.
// An ended lease adds "state": "ended", which router7's readers ignore.
#pragma once

#include <string>

#include "model/desired.hpp"

namespace netkeep {

// {"valid_until":"…","client_ip":"…","subnet_mask":"…","router":"…","dns":[…]}
std::string render_dhcp4_lease(const Dhcp4Lease& l);
// {"valid_until":"…","prefixes":[{"IP":"…","Mask":"<base64>"}],"dns":[…]}
std::string render_dhcp6_lease(const Dhcp6Lease& l);

}  // namespace netkeep
