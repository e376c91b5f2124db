#!/usr/bin/env bash
# nftables must-holds 1, 2 and 9: a fresh namespace gets exactly netkeep's
# ruleset (SPEC §3's, with the hairpin rule that works: see
# reconciler/nft_desired.cpp); a second apply sends no nftables message; the
# same ruleset made by `nft -f` is adopted with zero changes, and SPEC §3's
# own text with exactly one rule replaced.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
# router_like TAG: another namespace with the router's two links (to a peer
# of its own), printed
router_like() {
  local r p
  r=$(new_ns "$1")
  p=$(new_ns "$1peer")
  veth "$r" eth3 02:00:00:00:00:01 "$p"
  veth "$r" eth4 02:00:00:00:00:02 "$p"
  echo "$r"
}
status "apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "nft -n list ruleset equals the golden, object order included" \
  "$(ruleset "$R")" "$(cat "$TESTDATA/nft/ruleset.golden")"
equals "which is what nft -f makes of the same text" \
  "$(ip netns exec "$(new_ns text)" bash -c "nft -f $TESTDATA/nft/netkeep.nft && nft -n list ruleset")" \
  "$(cat "$TESTDATA/nft/ruleset.golden")"

status "plan right after apply exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
nft_monitor_start "$R" "$WORK/monitor"
status "second apply" 0 nk "$R" apply --json --config "$CFG" --root "$ROOT"
events=$(monitor_stop)
contains "the executor counted zero writes" "$(cat "$WORK/out")" '"write_requests": 0'
equals "nft monitor saw no event" "$events" ""

# Adoption: another namespace whose ruleset came from nft -f.
R2=$(router_like adopt)
ip netns exec "$R2" nft -f "$TESTDATA/nft/netkeep.nft"
# Counter values move with the namespace's own IPv6 traffic; compare the rest.
listing() { ip netns exec "$1" nft -a -n list ruleset | sed -E 's/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/'; }
before=$(listing "$R2")
status "plan on the nft -f ruleset" 2 nk "$R2" plan --config "$CFG" --root "$ROOT"
lacks "the plan has no nftables op" "$(cat "$WORK/out")" "nft"
nft_monitor_start "$R2" "$WORK/monitor2"
status "apply over the nft -f ruleset" 0 nk "$R2" apply --json --config "$CFG" --root "$ROOT"
events=$(monitor_stop)
lacks "apply sent no nftables op" "$(cat "$WORK/out")" '"kind": "nft_'
equals "nft monitor saw no event while adopting" "$events" ""
equals "the ruleset, handles included, is untouched" "$(listing "$R2")" "$before"

# SPEC §3's earlier text, router7's shape: a rule per forwarding and
# router7's hairpin rule. It is converted in one transaction (so no
# forwarding is ever absent); outside the forwarding chain, only the
# hairpin rule changes.
R4=$(router_like spec)
ip netns exec "$R4" nft -f "$TESTDATA/nft/spec.nft"
outside() {  # everything but the forwarding chain and maps, handles included
  ip netns exec "$1" nft -a -n list table ip filter
  ip netns exec "$1" nft -a -n list table ip6 filter
  ip netns exec "$1" nft -a -n list chain ip nat prerouting
  ip netns exec "$1" nft -a -n list chain ip nat postrouting | grep -v 'lan0'
}
before=$(outside "$R4" | sed -E 's/packets [0-9]+ bytes [0-9]+//')
nft_monitor_start "$R4" "$WORK/monitor4"
status "apply over SPEC §3's earlier text" 0 nk "$R4" apply --json --config "$CFG" --root "$ROOT"
events=$(monitor_stop)
equals "the conversion is one transaction" "$(grep -c '^# new generation' <<<"$events")" 1
equals "four forwardings added to the maps" "$(grep -c '"kind": "forward_add"' "$WORK/out")" 4
equals "the four forwarding rules and router7's hairpin rule deleted" \
  "$(grep -c '"kind": "nft_rule_del"' "$WORK/out")" 5
equals "nothing else changed, handles included" \
  "$(outside "$R4" | sed -E 's/packets [0-9]+ bytes [0-9]+//')" "$before"
equals "the result is netkeep's ruleset" "$(ruleset "$R4")" "$(cat "$TESTDATA/nft/ruleset.golden")"

# An earlier netkeep's layout: one interval map and one interval count set
# per protocol, holding single ports and ranges alike, with counts. It is
# split into the hash and ranges maps in one transaction, every
# forwarding keeping its counts.
R5=$(router_like onemap)
ip netns exec "$R5" nft -f "$TESTDATA/nft/netkeep-one-map.nft"
nft_monitor_start "$R5" "$WORK/monitor5"
status "apply over the one-map layout" 0 nk "$R5" apply --json --config "$CFG" --root "$ROOT"
events=$(monitor_stop)
equals "the split is one transaction" "$(grep -c '^# new generation' <<<"$events")" 1
equals "the result is netkeep's ruleset (counts aside)" \
  "$(ruleset "$R5" | sed -E 's/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/g')" \
  "$(cat "$TESTDATA/nft/ruleset.golden")"
counts() {
  ip netns exec "$R5" nft list map ip nat "netkeep-portforwardings-$1" |
    grep -oE "$2 counter packets [0-9]+" | awk '{print $4}'
  ip netns exec "$R5" nft list set ip netkeep "forwarded-$1" |
    grep -oE "$2 counter packets [0-9]+ bytes [0-9]+" | awk '{print $4, $6}'
}
equals "8080 keeps its connections and traffic" "$(counts tcp 8080 | tr '\n' ' ')" "7 70 7000 "
equals "6000-6010 moved to the ranges map with its counts" \
  "$(counts tcp-ranges 6000-6010 | tr '\n' ' ')" "5 50 5000 "
equals "udp 53 keeps its counts" "$(counts udp 53 | tr '\n' ' ')" "0 0 0 "

# The layout before the maps of one-port data: the single-port maps' data
# was an interval. They are made again, with the rules that use them, in
# one transaction.
R7=$(router_like twomaps)
ip netns exec "$R7" nft -f "$TESTDATA/nft/netkeep-two-maps.nft"
nft_monitor_start "$R7" "$WORK/monitor7"
status "apply over the two-map layout" 0 nk "$R7" apply --json --config "$CFG" --root "$ROOT"
events=$(monitor_stop)
equals "the change is one transaction" "$(grep -c '^# new generation' <<<"$events")" 1
objects() {  # each object of a listing on one line, by table, sorted (made again: listed last)
  awk '/^table / { t = $0 } /^\t[a-z]+ .* \{$/ { o = t ":" $0; next }
       o && /^\t\}$/ { print o; o = ""; next } o { o = o $0 }' | sort
}
equals "the result is netkeep's ruleset, objects in another order" \
  "$(ruleset "$R7" | objects)" "$(objects <"$TESTDATA/nft/ruleset.golden")"

# Hash sets declared with room for every port (what a cold apply of 1,024
# single ports or more makes: a fixed-size kernel hash table) are netkeep's
# type as well: adopted as they are, counts and all.
R6=$(router_like sized)
awk '{ print } /^\t(map|set) / { name = $2 } /^\t\ttype / && name !~ /-ranges/ { print "\t\tsize 65535" }' \
  "$TESTDATA/nft/netkeep.nft" >"$WORK/sized.nft"
ip netns exec "$R6" nft -f "$WORK/sized.nft"
equals "four hash sets with a size" "$(ip netns exec "$R6" nft list ruleset | grep -c 'size 65535')" 4
status "plan over them" 2 nk "$R6" plan --config "$CFG" --root "$ROOT"
lacks "has no nftables op" "$(cat "$WORK/out")" "nft"

# plan --check: the kernel validates the batch and commits nothing.
R3=$(new_ns check)
status "plan --check on a fresh namespace" 2 nk "$R3" plan --check --config "$CFG" --root "$ROOT"
contains "the kernel accepts the batch" "$(cat "$WORK/err")" "the kernel accepts the"
equals "and nothing was committed" "$(ip netns exec "$R3" nft list ruleset)" ""
finish
