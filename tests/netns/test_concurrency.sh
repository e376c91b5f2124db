#!/usr/bin/env bash
# One netkeep per root and network namespace (hardening issue): eight
# simultaneous applies of one +1 change leave exactly one copy of it, and
# each exits 0 or says who holds the lock; the same without the lock, by
# the batch's generation; a CLI apply while the daemon runs waits a
# bounded time and names the daemon's pid.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
status "converge" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
sed -i 's/"port": "8080"/"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}, {"port": "9999"/' \
  "$CFG/portforwardings.json"
# eight_applies TAG ROOT...: applies at once (on ROOT, or ROOT1..ROOT8),
# their output in $WORK/TAG-out* and -err*; prints their exit statuses
eight_applies() {
  local tag=$1 i pids=() codes=""
  for i in 1 2 3 4 5 6 7 8; do
    local root=${2:-$WORK/root$i}
    mkdir -p "$root/tmp"
    ip netns exec "$R" "$NETKEEP" apply --config "$CFG" --root "$root" >"$WORK/$tag-out$i" 2>"$WORK/$tag-err$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; codes+="$? "; done
  echo "$codes"
}
equals "eight simultaneous applies all exit 0" "$(eight_applies locked "$ROOT")" "0 0 0 0 0 0 0 0 "
equals "exactly one copy of the new forwarding" "$(forwardings "$R" | grep -c '^tcp 9999 ')" 1
equals "applied by exactly one of them" "$(cat "$WORK"/locked-out* | grep -c '+ forward tcp 9999')" 1
lacks "no op failed" "$(cat "$WORK"/locked-err*)" "error:"
status "converged afterwards" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# Without the lock (eight roots, so eight locks), the batch is what is
# tied: each is sent with the ruleset generation it was planned from, and
# the kernel refuses a batch whose generation moved; the refused ones plan
# again from what is there. Still exactly one copy, and all exit 0.
sed -i 's/"port": "9999"/"port": "9999", "dest_addr": "10.10.0.23", "dest_port": "80"}, {"port": "9998"/' \
  "$CFG/portforwardings.json"
equals "eight unlocked simultaneous applies all exit 0" "$(eight_applies unlocked)" "0 0 0 0 0 0 0 0 "
equals "exactly one copy of the new forwarding" "$(forwardings "$R" | grep -c '^tcp 9998 ')" 1
lacks "no op failed" "$(cat "$WORK"/unlocked-err*)" "error:"

# The daemon holds the lock for its lifetime.
daemon_start "$R" --config "$CFG" --root "$ROOT"
started() { [ "$(reconciles)" -ge 1 ]; }
within 10000 "the daemon started" started
start=$(now_ms)
status "a CLI apply meanwhile exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
elapsed=$(($(now_ms) - start))
contains "naming the daemon" "$(cat "$WORK/err")" "another netkeep (pid $DAEMON, netkeep run) works on this root and network namespace"
check "after a bounded wait (${elapsed} ms)" test "$elapsed" -lt 15000
# Another namespace under the same root is not held up.
R2=$(new_ns other)
status "another namespace, same root: not held up" 0 nk "$R2" apply --config "$CFG" --root "$ROOT"
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null
status "with the daemon gone, apply runs" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
finish
