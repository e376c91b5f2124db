#!/usr/bin/env bash
# nftables must-holds 1, 2 and 9: a fresh namespace gets exactly SPEC §3's
# ruleset; a second apply sends no nftables message; a ruleset identical to
# the desired one, made by `nft -f` from SPEC §3's text, is adopted with zero
# changes.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
status "apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "nft -n list ruleset equals SPEC §3, object order included" \
  "$(ruleset "$R")" "$(cat "$TESTDATA/nft/spec-ruleset.golden")"

status "plan right after apply exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
monitor_start "$R" "$WORK/monitor"
status "second apply" 0 nk "$R" apply --json --config "$CFG" --root "$ROOT"
monitor_stop
contains "the executor counted zero writes" "$(cat "$WORK/out")" '"write_requests": 0'
equals "nft monitor saw no event" "$(cat "$WORK/monitor")" ""

# Adoption: another namespace whose ruleset came from nft -f.
R2=$(new_ns adopt)
P2=$(new_ns adoptpeer)
veth "$R2" eth3 02:00:00:00:00:01 "$P2"
veth "$R2" eth4 02:00:00:00:00:02 "$P2"
ip netns exec "$R2" nft -f "$TESTDATA/nft/spec.nft"
# Counter values move with the namespace's own IPv6 traffic; compare the rest.
listing() { ip netns exec "$1" nft -a -n list ruleset | sed -E 's/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/'; }
before=$(listing "$R2")
status "plan on the nft -f ruleset" 2 nk "$R2" plan --config "$CFG" --root "$ROOT"
lacks "the plan has no nftables op" "$(cat "$WORK/out")" "nft"
monitor_start "$R2" "$WORK/monitor2"
status "apply over the nft -f ruleset" 0 nk "$R2" apply --json --config "$CFG" --root "$ROOT"
monitor_stop
lacks "apply sent no nftables op" "$(cat "$WORK/out")" '"kind": "nft_'
equals "nft monitor saw no event while adopting" "$(cat "$WORK/monitor2")" ""
equals "the ruleset, handles included, is untouched" "$(listing "$R2")" "$before"

# plan --check: the kernel validates the batch and commits nothing.
R3=$(new_ns check)
status "plan --check on a fresh namespace" 2 nk "$R3" plan --check --config "$CFG" --root "$ROOT"
contains "the kernel accepts the batch" "$(cat "$WORK/err")" "the kernel accepts the"
equals "and nothing was committed" "$(ip netns exec "$R3" nft list ruleset)" ""
finish
