#!/usr/bin/env bash
# Must-hold 1 and 6 of the core issue: a fresh namespace gets the links,
# addresses, routes, sysctls and resolv.conf of the config, checked with
# `ip`'s own output; right after, plan is empty and a second apply sends no
# write request (the executor's count, and `ip monitor` sees no event).
source "$(dirname "$0")/lib.sh"

R=$(new_ns router)
P=$(new_ns peer)
veth "$R" eth3 02:00:00:00:00:01 "$P"
veth "$R" eth4 02:00:00:00:00:02 "$P"
CFG=$(config_from fresh-system)
ROOT="$WORK/root"
mkdir -p "$ROOT/tmp"

status "apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

links=$(ip -n "$R" -o link show)
contains "eth3 renamed to uplink0" "$links" "uplink0@"
contains "eth4 renamed to lan0" "$links" "lan0@"
lan=$(ip -n "$R" -o link show dev lan0)
contains "lan0 has its MTU" "$lan" "mtu 1492"
contains "lan0 has the spoofed MAC" "$lan" "link/ether 02:00:00:00:00:aa"
contains "lan0 is up" "$lan" ",UP"
contains "uplink0 is up" "$(ip -n "$R" -o link show dev uplink0)" ",UP"

addrs=$(ip -n "$R" -o addr show)
contains "lan0 address with broadcast" "$addrs" "inet 10.10.0.1/24 brd 10.10.0.255 scope global lan0"
contains "lan0 extra address" "$addrs" "inet 10.20.0.1/24 brd 10.20.0.255 scope global lan0"
contains "uplink0 lease address with broadcast" "$addrs" "inet 203.0.113.62/25 brd 203.0.113.127 scope global uplink0"
contains "lan0 has <prefix>::1/64" "$addrs" "inet6 2001:db8:4a00::1/64"

routes=$(ip -n "$R" route show table main)
contains "router /32 route (scope link, proto dhcp, src)" "$routes" "203.0.113.1 dev uplink0 proto dhcp scope link src 203.0.113.62"
contains "default route (proto dhcp, src)" "$routes" "default via 203.0.113.1 dev uplink0 proto dhcp src 203.0.113.62"
contains "extra IPv6 route" "$(ip -n "$R" -6 route show table main)" "2001:db8:5::/64 via fe80::2 dev lan0 proto 78"

equals "resolv.conf names lan0's address" "$(cat "$ROOT/tmp/resolv.conf")" "nameserver 10.10.0.1"
sc() { ip netns exec "$R" sysctl -n "$1"; }
equals "ip_forward" "$(sc net.ipv4.ip_forward)" 1
equals "ipv6 forwarding" "$(sc net.ipv6.conf.all.forwarding)" 1
equals "icmp_ratelimit" "$(sc net.ipv4.icmp_ratelimit)" 0
equals "ipv6 icmp ratelimit" "$(sc net.ipv6.icmp.ratelimit)" 0
equals "uplink0 accept_ra" "$(sc net.ipv6.conf.uplink0.accept_ra)" 2

status "plan right after apply exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
equals "plan prints nothing" "$(cat "$WORK/out")" ""

# The kernel's own follow-up to the first apply ends first: duplicate
# address detection ends with an address event. Neighbour entries change
# with the peer's traffic, never by netkeep, so they are not counted.
wait_until 10000 dad_done "$R" || echo "# IPv6 addresses still tentative after 10 s"
ip_monitor_start "$R" "$WORK/monitor" all
status "second apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "second apply sends no write request" "$(cat "$WORK/err")" "0 ops applied, 0 failed, 0 write requests"
equals "ip monitor saw no event during the second apply" "$(monitor_stop | grep -v '^\[NEIGH\]')" ""

finish
