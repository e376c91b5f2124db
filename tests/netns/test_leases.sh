#!/usr/bin/env bash
# Must-hold 4 of the core issue: a new DHCPv4 lease replaces the old address
# and its routes; a new DHCPv6 prefix replaces the old lan0 address.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
status "first apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "old lease address" "$(ip -n "$R" -o addr show dev uplink0)" "203.0.113.62/25"

write "$CFG/dhcp4/wire/lease.json" '{"valid_until": "2026-06-01T10:00:00+02:00", "client_ip": "198.51.100.20", "subnet_mask": "255.255.255.0", "router": "198.51.100.1", "dns": []}'
write "$CFG/dhcp6/wire/lease.json" '{"valid_until": "0001-01-01T00:00:00Z", "prefixes": [{"IP": "2001:db8:7700::", "Mask": "////////AAAAAAAAAAAAAA=="}]}'
status "apply of the new leases" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

addrs=$(ip -n "$R" -o addr show)
lacks "the old DHCPv4 address is gone" "$addrs" "203.0.113.62"
contains "the new DHCPv4 address has its broadcast" "$addrs" "inet 198.51.100.20/24 brd 198.51.100.255 scope global uplink0"
lacks "the old DHCPv6 prefix's address is gone" "$addrs" "2001:db8:4a00::1"
contains "the new prefix's address is on lan0" "$addrs" "inet6 2001:db8:7700::1/64"
contains "lan0's own addresses stay" "$addrs" "inet 10.10.0.1/24"

routes=$(ip -n "$R" route show table main)
lacks "no route of the old lease is left" "$routes" "203.0.113.1"
contains "router /32 of the new lease" "$routes" "198.51.100.1 dev uplink0 proto dhcp scope link src 198.51.100.20"
contains "default route of the new lease" "$routes" "default via 198.51.100.1 dev uplink0 proto dhcp src 198.51.100.20"
equals "exactly one default route" "$(grep -c '^default' <<<"$routes")" 1

status "plan after the lease change exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
