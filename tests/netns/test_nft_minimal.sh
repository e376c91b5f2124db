#!/usr/bin/env bash
# nftables must-holds 3, 4 and 6: changing one forwarding changes only that
# rule (the handles of all others stay); counters keep counting across
# updates and restarts; drift in owned objects is repaired, nothing else moves.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
fw() {  # fw PORT...: portforwardings.json with one tcp forwarding per port
  local items="" p
  for p in "$@"; do items+="${items:+,}{\"port\": \"$p\", \"dest_addr\": \"10.10.0.$((p % 200 + 2))\", \"dest_port\": \"$p\"}"; done
  write "$CFG/portforwardings.json" "{\"forwardings\": [$items]}"
}
handles() { chain_handles "$R" ip nat router7-portforwardings; }
apply() { nk "$R" apply --config "$CFG" --root "$ROOT" >"$WORK/apply.out" 2>&1 || { echo "apply failed:"; cat "$WORK/apply.out"; }; }
only_new() {  # only_new BEFORE AFTER: lines of AFTER not in BEFORE
  comm -13 <(sort <<<"$1") <(sort <<<"$2")
}
only_old() { comm -23 <(sort <<<"$1") <(sort <<<"$2"); }

fw 1001 1002 1003 1004 1005
apply
h0=$(handles)
equals "five forwarding rules" "$(wc -l <<<"$h0")" 5

fw 1001 1002 1009 1003 1004 1005
apply
h1=$(handles)
equals "add: nothing of the old rules changed" "$(only_old "$h0" "$h1")" ""
equals "add: exactly one new rule" "$(only_new "$h0" "$h1" | wc -l)" 1
equals "add: it sits in third place" "$(sed -n 3p <<<"$h1" | grep -c 'dport 1009')" 1

fw 1001 1002 1009 1004 1005
apply
h2=$(handles)
equals "remove: exactly one rule gone" "$(only_old "$h1" "$h2" | grep -c 'dport 1003')" 1
equals "remove: nothing added" "$(only_new "$h1" "$h2")" ""

fw 1001 1009 1004 1005 1002
apply
h3=$(handles)
equals "reorder: only the moved rule changed handle" "$(only_old "$h2" "$h3" | grep -c 'dport 1002')" 1
equals "reorder: one rule re-added" "$(only_new "$h2" "$h3" | wc -l)" 1
equals "reorder: the chain is in the new order" "$(awk '{print $0}' <<<"$h3" | grep -o 'dport [0-9]*' | tr '\n' ' ')" "dport 1001 dport 1009 dport 1004 dport 1005 dport 1002 "

write "$CFG/portforwardings.json" '{"forwardings": [{"port": "1001", "dest_addr": "10.10.0.203", "dest_port": "1001"}, {"port": "1009", "dest_addr": "10.10.0.211", "dest_port": "1009"}, {"port": "1004", "dest_addr": "10.10.0.99", "dest_port": "1004"}, {"port": "1005", "dest_addr": "10.10.0.207", "dest_port": "1005"}, {"port": "1002", "dest_addr": "10.10.0.204", "dest_port": "1002"}]}'
apply
h4=$(handles)
equals "edit: only the edited rule changed" "$(only_old "$h3" "$h4" | grep -c 'dport 1004')" 1
equals "edit: one rule replaced" "$(only_new "$h3" "$h4" | grep -c '10.10.0.99:1004')" 1
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
