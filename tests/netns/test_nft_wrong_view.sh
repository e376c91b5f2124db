#!/usr/bin/env bash
# The view file is a cache that can be wrong without harm (hardening
# issue): hand-made wrong views, each at the kernel's current generation so
# that `apply` would believe it. A write planned from it that the kernel
# refuses (a handle that is not there) drops the view and is planned again
# from a full dump in the same run. A view that describes another state
# altogether (another namespace's, relabelled; an older one with its
# generation patched) carries another stamp than the kernel's (the comment
# of `chain view` in `ip netkeep`, renewed by every netkeep commit) and is
# not believed. Every case converges within two applies and never touches
# another program's rule.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
VIEW="$ROOT/run/netkeep/nft-view"
edit() { python3 "$(dirname "$0")/view_edit.py" "$VIEW" "$@"; }
handles() { chain_handles "$R" ip nat router7-portforwardings; }
plan_clean() { nk "$R" plan --config "$CFG" --root "$ROOT" >/dev/null 2>&1; }
ip netns exec "$R" nft -f - <<'NFT'
table ip foreign {
  chain c {
    tcp dport 7777 counter accept
  }
}
NFT
foreign() { ip netns exec "$R" nft -a list table ip foreign; }
foreign_before=$(foreign)
foreign_handle=$(foreign | sed -nE 's/.*dport 7777 .* # handle ([0-9]+)$/\1/p')
# A small change and back, so apply keeps a view of what it wrote.
status "converge" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
sed -i 's|10.10.0.1/24|10.10.0.1/25|' "$CFG/interfaces.json"
status "a committed change leaves a current view" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
check "the view file is there" test -s "$VIEW"

# 1. A wrong handle for lan0's rule, which the next change deletes.
edit bump-handle router7-portforwardings 1 1000
sed -i 's|10.10.0.1/25|10.10.0.1/24|' "$CFG/interfaces.json"
status "1. wrong handle: the change is applied (exit 0) in one run" 0 \
  nk "$R" apply --config "$CFG" --root "$ROOT"
contains "1. the kernel refused the write; it was planned again from a full dump" \
  "$(cat "$WORK/err")" "netkeep: planned again: the kernel refused a batch planned from the kept view"
contains "1. the new rule is there" "$(handles)" "ip daddr 10.10.0.0/24 return"
lacks "1. the old one is gone" "$(handles)" "10.10.0.0/25"
check "1. plan: nothing to do" plan_clean

# 2. The view puts another program's rule handle into the owned chain,
# with a body netkeep does not want there: planned as a delete of that
# handle in the forwarding chain, which the kernel refuses.
edit add-rule router7-portforwardings "$foreign_handle"
status "2. foreign handle: apply converges" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "2. the other program's rule is untouched" "$(foreign)" "$foreign_before"
check "2. plan: nothing to do" plan_clean

# 3. No counters in the view: netkeep would add them; the kernel already
# has them, so they are neither recreated nor reset.
status "3. (a view to edit)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
counters() { ip netns exec "$R" nft -a list counters | grep -oE 'counter [a-z]+ \{ # handle [0-9]+'; }
counters >"$WORK/counters.before"
edit drop-counters
for i in 1 2; do nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1; done
check "3. missing counters: plan has nothing to do after two applies" plan_clean
check "3. (six counters with handles)" test "$(wc -l <"$WORK/counters.before")" = 6
equals "3. the counters are the ones that were there (same handles: not recreated)" \
  "$(counters)" "$(cat "$WORK/counters.before")"
# 4. An older view, its generation patched to the current one: the
# forwardings changed since (one more), which the old view does not hold.
cp "$VIEW" "$WORK/old-view"
sed -i 's/"port": "8080"/"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}, {"port": "9999"/' \
  "$CFG/portforwardings.json"
status "4. (one forwarding more)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
now_gen=$(edit gen)
cp "$WORK/old-view" "$VIEW"
edit set-gen "$now_gen"
sed -i 's/, {"port": "9999"[^}]*}//' "$CFG/portforwardings.json"
nk "$R" plan --config "$CFG" --root "$ROOT" >"$WORK/plan4" 2>&1
contains "4. an older view with a patched generation is not believed: plan sees the extra forwarding" \
  "$(cat "$WORK/plan4")" "- forward tcp 9999"
status "4. and apply removes it" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
check "4. plan: nothing to do" plan_clean

# 5. Another namespace's view, relabelled with this one's identity and
# generation: a router with other forwardings.
router_setup_second
CFG2=$(config_from fresh-system)
ROOT2="$WORK/root2"
mkdir -p "$ROOT2/tmp"
echo '{"forwardings": [{"port": "1234", "dest_addr": "10.10.0.7", "dest_port": "1234"}]}' >"$CFG2/portforwardings.json"
status "5. (the other router)" 0 nk "$R2" apply --config "$CFG2" --root "$ROOT2"
sed -i 's/1234/1235/' "$CFG2/portforwardings.json"
status "5. (a change there, so it keeps a view)" 0 nk "$R2" apply --config "$CFG2" --root "$ROOT2"
status "5. (a view here)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
mine=$(edit gen)
cp "$VIEW" "$WORK/my-view"
cp "$ROOT2/run/netkeep/nft-view" "$VIEW"
edit set-identity "$WORK/my-view"
edit set-gen "$mine"
nk "$R" plan --config "$CFG" --root "$ROOT" >"$WORK/plan5" 2>&1
status "5. another namespace's view, relabelled: plan has nothing to do (it was not believed)" 0 \
  nk "$R" plan --config "$CFG" --root "$ROOT"
lacks "5. and never mentions the other router's forwarding" "$(cat "$WORK/plan5")" "1235"

# 6. An add the kernel refuses inside a message of several elements names
# its own op: the view (its generation patched) lacks tcp 443 and 8080,
# the kernel lacks only 443; plan --check plans both in one message and
# the kernel refuses 8080 (it is there), its extended ACK pointing at that
# element.
sed -i 's/"port": "8080"/"port": "443", "dest_addr": "10.10.0.23", "dest_port": "443"}, {"port": "8080"/' \
  "$CFG/portforwardings.json"
status "6. (443 and 8080 forwarded)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
status "6. (a view of them)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
gen6=$(edit gen)
edit drop-elem netkeep-portforwardings-tcp 443
edit drop-elem netkeep-portforwardings-tcp 8080
ip netns exec "$R" nft delete element ip nat netkeep-portforwardings-tcp '{ 443 }'
edit set-gen $((gen6 + 1))
status "6. plan --check: the kernel refuses the batch" 1 nk "$R" plan --check --config "$CFG" --root "$ROOT"
contains "6. the plan adds both" "$(cat "$WORK/out")" "+ forward tcp 443 -> 10.10.0.23:443"
contains "6. the error names 8080, the element refused" "$(cat "$WORK/err")" \
  "error: the kernel would reject + forward tcp 8080 -> 10.10.0.23:80"
lacks "6. not 443, the first of the message" "$(cat "$WORK/err")" "reject + forward tcp 443"
status "6. apply converges" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
check "6. plan: nothing to do" plan_clean
equals "the other program's rule is untouched throughout" "$(foreign)" "$foreign_before"
finish
