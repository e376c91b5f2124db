// The lease files' text, exactly as router7's DHCP clients write them
// (Go's encoding/json of their Config structs: compact, fields in this
// order), so router7's clients and `netkeep lease` are interchangeable.
// An ended lease adds "state": "ended", which router7's readers ignore.
#pragma once

#include <cstdint>
#include <string>

#include "model/desired.hpp"

namespace netkeep {

// {"valid_until":"…","client_ip":"…","subnet_mask":"…","router":"…","dns":[…]}
std::string render_dhcp4_lease(const Dhcp4Lease& l);
// {"valid_until":"…","prefixes":[{"IP":"…","Mask":"<base64>"}],"dns":[…]}
std::string render_dhcp6_lease(const Dhcp6Lease& l);

// What a lease holds, in one line: "203.0.113.62/25 via 203.0.113.1";
// the delegated prefixes, separated by spaces.
std::string lease_what(const Dhcp4Lease& l);
std::string lease_what(const Dhcp6Lease& l);

// What `show` says of a lease file, at `now`: "none (no lease file: no
// DHCP client has run yet)", "ended", or what is leased and until when:
// "203.0.113.62/25 via 203.0.113.1, valid until 2026-05-18T21:46:04Z
// (3540 s left)". A time past is said, not acted on (SPEC §2).
std::string lease_summary(const ConfigFile<Dhcp4Lease>& f, int64_t now);
std::string lease_summary(const ConfigFile<Dhcp6Lease>& f, int64_t now);
// The "leases" member of `show --json`: for dhcp4 and dhcp6, "state"
// (missing, invalid, ended, in force), what is leased ("address" and
// "router"; "prefixes"), "valid_until" and "seconds_left" (negative when
// past) when known.
struct Leases;
std::string leases_json(const Leases& l, int64_t now);
// When a lease in force ends (Unix seconds), for the metrics: 0 when no
// lease is in force or it has no end time.
int64_t lease_valid_until(const ConfigFile<Dhcp4Lease>& f);
int64_t lease_valid_until(const ConfigFile<Dhcp6Lease>& f);

}  // namespace netkeep
