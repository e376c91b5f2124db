#!/usr/bin/env bash
# nftables must-holds 3, 4 and 6: changing one forwarding changes only that
# forwarding's map element, in one transaction (the chain's rules and all
# other elements stay); counters keep counting across updates and restarts;
# drift in owned objects is repaired, nothing else moves.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
fw() {  # fw PORT...: portforwardings.json with one tcp forwarding per port
  local items="" p
  for p in "$@"; do items+="${items:+,}{\"port\": \"$p\", \"dest_addr\": \"10.10.0.$((p % 200 + 2))\", \"dest_port\": \"$p\"}"; done
  write "$CFG/portforwardings.json" "{\"forwardings\": [$items]}"
}
handles() { chain_handles "$R" ip nat router7-portforwardings; }
# elements: "PORTS : DEST . PORT" a line per element of the tcp forwarding map
elements() {
  ip netns exec "$R" nft -n list map ip nat netkeep-portforwardings-tcp |
    grep -oE '[0-9-]+ counter packets [0-9]+ bytes [0-9]+ : [0-9.]+ \. [0-9-]+' |
    sed -E 's/ counter packets [0-9]+ bytes [0-9]+//'
}
apply() { nk "$R" apply --config "$CFG" --root "$ROOT" >"$WORK/apply.out" 2>&1 || { echo "apply failed:"; cat "$WORK/apply.out"; }; }
only_new() {  # only_new BEFORE AFTER: lines of AFTER not in BEFORE
  comm -13 <(sort <<<"$1") <(sort <<<"$2")
}
only_old() { comm -23 <(sort <<<"$1") <(sort <<<"$2"); }
# monitored_apply: apply under nft monitor; MESSAGES is what it saw
monitored_apply() {
  nft_monitor_start "$R" "$WORK/monitor"
  apply
  MESSAGES=$(monitor_stop)
  # Each commit also renews the view's stamp (a chain re-made with a new
  # comment in netkeep's own table): counted apart.
  STAMP=$(grep -c 'chain ip netkeep view' <<<"$MESSAGES")
  MESSAGES=$(grep -v 'chain ip netkeep view' <<<"$MESSAGES")
}

fw 1001 1002 1003 1004 1005
apply
h0=$(handles)
e0=$(elements)
equals "five forwardings, five elements" "$(wc -l <<<"$e0")" 5
equals "the chain holds the guard and six dispatch rules" "$(wc -l <<<"$h0")" 9

fw 1001 1002 1009 1003 1004 1005
monitored_apply
e1=$(elements)
equals "add: nothing of the old elements changed" "$(only_old "$e0" "$e1")" ""
equals "add: exactly one new element" "$(only_new "$e0" "$e1")" "1009 : 10.10.0.11 . 1009"
equals "add: one transaction" "$(grep -c '^# new generation' <<<"$MESSAGES")" 1
equals "add: one element added to the map and to the count set, nothing else" \
  "$(grep -vc '^# new generation' <<<"$MESSAGES")" 2
equals "add: and the stamp renewed (its chain deleted and made again)" "$STAMP" 2

fw 1001 1002 1009 1004 1005
monitored_apply
e2=$(elements)
equals "remove: exactly one element gone" "$(only_old "$e1" "$e2")" "1003 : 10.10.0.5 . 1003"
equals "remove: nothing added" "$(only_new "$e1" "$e2")" ""
equals "remove: one element deleted from the map and the count set, nothing else" \
  "$(grep -vc '^# new generation' <<<"$MESSAGES")" 2

fw 1001 1009 1004 1005 1002
monitored_apply
equals "reorder of disjoint ports: nothing to change" "$(elements)" "$e2"
equals "reorder: no transaction" "$MESSAGES" ""

fw 1001 1009 1004 1005 1002
sed -i 's/"10.10.0.6"/"10.10.0.99"/' "$CFG/portforwardings.json"  # 1004's destination
monitored_apply
e4=$(elements)
equals "edit: only the edited element went" "$(only_old "$e2" "$e4")" "1004 : 10.10.0.6 . 1004"
equals "edit: and came back with its new destination" "$(only_new "$e2" "$e4")" "1004 : 10.10.0.99 . 1004"
equals "edit: one transaction" "$(grep -c '^# new generation' <<<"$MESSAGES")" 1
equals "the chain's rules kept their handles throughout" "$(handles)" "$h0"
others() { chain_handles "$R" ip nat postrouting; chain_handles "$R" ip filter forward; chain_handles "$R" ip6 filter input; }
o4=$(others)

# Counters keep counting.
counter() { ip netns exec "$R" nft list counter "$1" filter "$2" | sed -nE 's/.*packets ([0-9]+).*/\1/p'; }
counter_handle() { ip netns exec "$R" nft -a list counters | grep -A0 "counter $1" ; }
local_traffic "$R"
c1=$(counter ip inputc)
check "traffic counted: inputc > 0 ($c1)" test "$c1" -gt 0
fw 1001 1009
apply
c2=$(counter ip inputc)
check "after an update inputc did not go back ($c1 -> $c2)" test "$c2" -ge "$c1"
local_traffic "$R"
apply  # a new process: a restart
c3=$(counter ip inputc)
check "after a restart it still counts ($c2 -> $c3)" test "$c3" -gt "$c2"

# Drift in owned objects is repaired; nothing else moves.
o5=$(others)
ip netns exec "$R" nft insert rule ip nat router7-portforwardings tcp dport 4444 accept
apply
lacks "a foreign rule in an owned chain is removed" "$(handles)" "dport 4444"
equals "other owned chains untouched" "$(others)" "$o5"

ip netns exec "$R" nft flush chain ip filter output
ip netns exec "$R" nft delete chain ip filter output
ip netns exec "$R" nft flush chain ip filter input
ip netns exec "$R" nft delete counter ip filter inputc
apply
contains "a deleted base chain is recreated" "$(ip netns exec "$R" nft list chain ip filter output)" "type filter hook output priority filter; policy accept;"
contains "with its rule" "$(ip netns exec "$R" nft list chain ip filter output)" 'counter name "outputc"'
contains "a deleted counter is recreated" "$(ip netns exec "$R" nft list counters)" "counter inputc"
contains "and used again" "$(ip netns exec "$R" nft list chain ip filter input)" 'counter name "inputc"'
equals "postrouting, forward and ip6 chains untouched" "$(others)" "$o5"
status "converged afterwards" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
