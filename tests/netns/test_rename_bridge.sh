#!/usr/bin/env bash
# Must-hold 2 and 3 of the core issue: renaming a link that is up; bridges
# created with their first member's MAC from the start, members enslaved
# and up, the bridge up with its address.
source "$(dirname "$0")/lib.sh"

R=$(new_ns router)
P=$(new_ns peer)
veth "$R" eth3 02:00:00:00:00:01 "$P"
veth "$R" eth5 02:00:00:00:00:03 "$P"
veth "$R" eth6 02:00:00:00:00:04 "$P"
ip -n "$R" link set eth3 up
ip -n "$R" link set eth6 up
contains "eth3 is up before the apply" "$(ip -n "$R" -o link show dev eth3)" "state UP"
CFG=$(config_from bridge)
ROOT="$WORK/root"; mkdir -p "$ROOT/tmp"

ip_monitor_start "$R" "$WORK/monitor" link
status "apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
monitor_stop >"$WORK/links"

up=$(ip -n "$R" -o link show dev uplink0)
contains "the running eth3 was renamed to uplink0" "$up" "uplink0@"
contains "uplink0 is up again" "$up" "state UP"
lacks "no link is named eth3 any more" "$(ip -n "$R" -o link show)" "eth3"

br=$(ip -n "$R" -d -o link show dev lan0)
contains "lan0 is a bridge" "$br" "bridge forward_delay"
contains "lan0 carries the first member's MAC" "$br" "link/ether 02:00:00:00:00:03"
contains "lan0 is up" "$br" ",UP"
first=$(grep -m1 "lan0" "$WORK/links" || true)
contains "the bridge had that MAC from its first moment" "$first" "link/ether 02:00:00:00:00:03"
for m in eth5 eth6; do
  l=$(ip -n "$R" -o link show dev $m)
  contains "$m is enslaved to lan0" "$l" "master lan0"
  contains "$m is up" "$l" ",UP"
done
contains "the bridge has its address" "$(ip -n "$R" -o addr show dev lan0)" "inet 10.10.0.1/24 brd 10.10.0.255"

status "plan after apply exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
