#!/usr/bin/env bash
# Must-hold 5 of the core issue: removing an extra_addrs or extra_routes
# entry removes it from the kernel; addresses and routes that netkeep never
# added stay, and so does a regular resolv.conf someone else wrote.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
write "$CFG/interfaces.json" '{"interfaces": [
  {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24",
   "extra_addrs": ["10.20.0.1/24", "10.30.0.1/24"],
   "extra_routes": [{"destination": "10.99.0.0/16", "gateway": "10.10.0.254"},
                    {"destination": "2001:db8:5::/64", "gateway": "fe80::2"}]}]}'
echo "nameserver 100.100.100.100" >"$ROOT/tmp/resolv.conf"
status "first apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "extra address added" "$(ip -n "$R" -o addr show dev lan0)" "10.30.0.1/24"
contains "extra route added" "$(ip -n "$R" route show)" "10.99.0.0/16 via 10.10.0.254 dev lan0 proto 78"
equals "a regular resolv.conf is not overwritten" "$(cat "$ROOT/tmp/resolv.conf")" "nameserver 100.100.100.100"

# Someone else's addresses and routes, made with ip.
ip -n "$R" addr add 192.168.7.1/24 dev lan0
ip -n "$R" addr add 2001:db8:99::1/64 dev lan0
ip -n "$R" route add 10.77.0.0/16 via 10.10.0.2 dev lan0
ip -n "$R" route add 10.66.0.0/16 via 10.10.0.3 dev lan0 proto static
ip -n "$R" -6 route add 2001:db8:6::/64 via fe80::3 dev lan0

write "$CFG/interfaces.json" '{"interfaces": [
  {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24",
   "extra_addrs": ["10.20.0.1/24"], "extra_routes": []}]}'
status "apply after removing entries" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

addrs=$(ip -n "$R" -o addr show dev lan0)
lacks "the removed extra address is gone" "$addrs" "10.30.0.1/24"
contains "the kept extra address stays" "$addrs" "10.20.0.1/24"
contains "a foreign IPv4 address stays" "$addrs" "192.168.7.1/24"
contains "a foreign IPv6 address stays" "$addrs" "2001:db8:99::1/64"
routes=$(ip -n "$R" route show)
lacks "the removed IPv4 extra route is gone" "$routes" "10.99.0.0/16"
lacks "the removed IPv6 extra route is gone" "$(ip -n "$R" -6 route show)" "2001:db8:5::/64"
contains "a foreign boot route stays" "$routes" "10.77.0.0/16 via 10.10.0.2"
contains "a foreign static route stays" "$routes" "10.66.0.0/16 via 10.10.0.3"
contains "a foreign IPv6 route stays" "$(ip -n "$R" -6 route show)" "2001:db8:6::/64 via fe80::3"
equals "resolv.conf still untouched" "$(cat "$ROOT/tmp/resolv.conf")" "nameserver 100.100.100.100"

# A symlink is replaced by netkeep's file.
rm "$ROOT/tmp/resolv.conf"
ln -s /nonexistent/resolv.conf "$ROOT/tmp/resolv.conf"
status "apply replaces a symlink" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
check "resolv.conf is now a regular file" test ! -L "$ROOT/tmp/resolv.conf"
equals "with lan0's address" "$(cat "$ROOT/tmp/resolv.conf")" "nameserver 10.10.0.1"
finish
