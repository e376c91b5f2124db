#!/usr/bin/env bash
# Saved plans (issue 15, item 5): `plan --out FILE` then `apply --plan
# FILE` performs exactly that plan; when a config file or the kernel's
# state of what netkeep manages changed since, nothing is done and the
# exit status is 3, naming what changed; another program's nftables table
# does not make a plan stale; a damaged or foreign file is refused.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
PLAN="$WORK/plan.saved"
plan_out() { nk "$R" plan --config "$CFG" --root "$ROOT" --out "$PLAN" >"$WORK/plan.out" 2>&1 || true; }
apply_plan() { nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$PLAN"; }
# What netkeep manages, as iproute2 and nft see it: not carrier, not
# link-local addresses, not address flags (an IPv6 address stays
# "tentative" until DAD is done); they change by themselves.
state() {
  ip -n "$R" -o link | sed -E 's/<[^>]*>//; s/ state [A-Z]+//'
  ip -n "$R" -4 -o addr | awk '{print $2, $4}'
  ip -n "$R" -6 -o addr show scope global | awk '{print $2, $4}'
  ip -n "$R" route
  ruleset "$R"
}

# A fresh router: the whole first apply, saved and then performed.
nk "$R" plan --config "$CFG" --root "$ROOT" --out "$PLAN" --json >"$WORK/plan.json" 2>/dev/null
check "the plan is saved" test -s "$PLAN"
equals "saved with mode 0600" "$(stat -c %a "$PLAN")" 600
status "apply --plan performs it" 0 nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$PLAN" --json
ops() { grep -E '^  \{' "$1" | sed -E 's/\]?,?$//'; }
equals "it performed ops" "$(ops "$WORK/out" | wc -l)" "$(ops "$WORK/plan.json" | wc -l)"
diff <(ops "$WORK/plan.json") <(ops "$WORK/out") >"$WORK/diff" &&
  pass "exactly the saved ops, in order" || { fail "the ops differ from the saved plan:"; cat "$WORK/diff"; }
status "then plan finds nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
status "the same saved plan again is stale: the kernel changed under it" 3 apply_plan
contains "and says what changed" "$(cat "$WORK/err")" "plan is stale: the kernel's addresses changed"

# A config edit after plan --out: stale, nothing done.
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
plan_out
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8081", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
before=$(state)
status "a config file changed since: exit 3" 3 apply_plan
contains "naming the file" "$(cat "$WORK/err")" "plan is stale: portforwardings.json changed; nothing done"
unchanged() { diff <(echo "$before") <(state) >"$WORK/diff" && pass "$1" || { fail "$1:"; cat "$WORK/diff"; }; }
unchanged "and nothing changed"

# The kernel changed since: someone removed an owned address.
plan_out
ip -n "$R" addr del 10.20.0.1/24 dev lan0
before=$(state)
status "an owned address removed since: exit 3" 3 apply_plan
contains "naming the kind of object" "$(cat "$WORK/err")" "plan is stale: the kernel's addresses changed"
unchanged "and nothing changed"

# Another program's table does not make the plan stale.
plan_out
ip netns exec "$R" nft add table ip foreign
ip netns exec "$R" nft add chain ip foreign c
status "another program's nftables table: the plan still applies" 0 apply_plan
contains "the pending forwarding was added" "$(forwardings "$R")" "tcp 8081 -> 10.10.0.23:80"
check "the foreign table is still there" ip netns exec "$R" nft list chain ip foreign c
status "converged" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# Damaged and foreign files.
plan_out
head -c 200 "$PLAN" >"$WORK/truncated"
status "a truncated plan is refused" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$WORK/truncated"
contains "as damaged" "$(cat "$WORK/err")" "damaged"
echo '{"format_version": "1.0"}' >"$WORK/foreign"
status "a foreign file is refused" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$WORK/foreign"
contains "as not a saved plan" "$(cat "$WORK/err")" "not a netkeep saved plan; nothing done"
sed 's/^netkeep saved plan 1$/netkeep saved plan 2/' "$PLAN" >"$WORK/v2"
status "another version is refused" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$WORK/v2"
contains "naming the version" "$(cat "$WORK/err")" "a saved plan of another version"
status "a missing file is refused" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --plan "$WORK/absent"
contains "saying so" "$(cat "$WORK/err")" "absent: no such file; nothing done"

finish
