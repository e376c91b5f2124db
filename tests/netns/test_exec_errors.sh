#!/usr/bin/env bash
# Must-hold 8 of the core issue: the kernel refusing ops does not stop the
# ops that don't depend on them; every error is printed; exit 1.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
# Two routes the kernel refuses: their gateways are not on any link.
write "$CFG/interfaces.json" '{"interfaces": [
  {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24", "mtu": 1492,
   "extra_addrs": ["10.20.0.1/24"],
   "extra_routes": [{"destination": "10.99.0.0/16", "gateway": "192.0.2.254"},
                    {"destination": "10.98.0.0/16", "gateway": "192.0.2.253"},
                    {"destination": "10.97.0.0/16", "gateway": "10.10.0.254"}]}]}'

status "apply exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
err=$(cat "$WORK/err")
contains "the first refused route is reported with the kernel's message" "$err" "error: + route 10.99.0.0/16 via 192.0.2.254 dev lan0 proto netkeep: Network is unreachable (Nexthop has invalid gateway)"
contains "the second refused route is reported too" "$err" "error: + route 10.98.0.0/16 via 192.0.2.253 dev lan0"
contains "the summary counts both" "$err" "2 failed"
# Everything independent of the failures was done.
contains "links were renamed and configured" "$(ip -n "$R" -o link show dev lan0)" "mtu 1492"
contains "addresses were added" "$(ip -n "$R" -o addr show dev lan0)" "10.20.0.1/24"
contains "the good route was added" "$(ip -n "$R" route show)" "10.97.0.0/16 via 10.10.0.254 dev lan0 proto 78"
contains "DHCP routes were added" "$(ip -n "$R" route show)" "default via 203.0.113.1 dev uplink0 proto dhcp"
equals "sysctls were written" "$(ip netns exec "$R" sysctl -n net.ipv4.ip_forward)" 1
equals "resolv.conf was written" "$(cat "$ROOT/tmp/resolv.conf")" "nameserver 10.10.0.1"
# The next apply retries just the failed ops.
status "plan still shows the failed ops" 2 nk "$R" plan --config "$CFG" --root "$ROOT"
equals "and only them" "$(wc -l <"$WORK/out")" 2
finish
