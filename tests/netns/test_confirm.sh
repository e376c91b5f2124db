#!/usr/bin/env bash
# apply --confirm (issue 15): a change that is not confirmed is rolled
# back by its deadline, also when the apply is killed; Enter, `netkeep
# confirm` or passing checks keep it; a failing check rolls it back early;
# signals roll it back at once; nftables objects come back with their
# counters while another program's table stays byte-identical.
# Namespaces: the router (lan0 = eth4, 10.10.0.1/24) and a peer on lan0
# (10.10.0.2) holding a TCP connection to the router.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

confirm_setup
lan_config 10.10.0.1/24
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.2", "dest_port": "80"}]}'
# uplink0 by a DHCP lease; the peer is also the WAN side (203.0.113.1).
write "$CFG/dhcp4/wire/lease.json" '{"valid_until": "2099-01-01T00:00:00Z", "client_ip": "203.0.113.62",
  "subnet_mask": "255.255.255.128", "router": "203.0.113.1", "dns": ["192.0.2.53"]}'
ip -n "$P" addr add 203.0.113.1/25 dev up0
status "the first apply, without --confirm" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

# An echo server on the router, and a peer that holds one connection to it.
ip netns exec "$R" timeout 120 socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat &
wait_until 10000 listening "$R" tcp 7000
cat >"$WORK/hold.py" <<'PY'
import socket, sys, os, time
s = socket.create_connection(("10.10.0.1", 7000), timeout=5)
def echo(word):
    s.sendall(word + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        got += s.recv(100)
    return got.strip() == word
print("first" if echo(b"one") else "bad", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
print("second" if echo(b"two") else "bad", flush=True)
PY
ip netns exec "$P" timeout 100 python3 "$WORK/hold.py" "$WORK/go" >"$WORK/hold.out" 2>&1 &
HOLD=$!
# Waited for, not slept on: beside other tests, under ASan, python's start
# and the first echo took over half a second.
held() { grep -q first "$WORK/hold.out"; }
within 10000 "the peer holds a connection to 10.10.0.1" held

# wait_for MS COMMAND...: polls every 50 ms; prints the ms it took
wait_for() {
  local limit=$1; shift
  local start; start=$(now_ms)
  while ! "$@"; do
    if [ $(($(now_ms) - start)) -gt "$limit" ]; then echo "timeout"; return 1; fi
    sleep 0.05
  done
  echo $(($(now_ms) - start))
}
since() { echo $(($(now_ms) - $1)); }
within_ms() {  # within_ms DESC LIMIT_MS MEASURED_MS
  if [ "$3" != timeout ] && [ "$3" -le "$2" ]; then pass "$1 ($3 ms)"; else fail "$1: took $3 ms, limit $2 ms"; fi
}
apply_bg() {  # apply_bg ARGS...: apply --confirm in the background; APPLY is netkeep's pid
  # (ip netns exec execs netkeep: the same process). The last apply's
  # output goes first: the redirection below truncates it only once the
  # child runs, and waiting() must not read the last apply's words.
  rm -f "$WORK/apply.out" "$WORK/apply.err"
  ip netns exec "$R" "$NETKEEP" apply --config "$CFG" --root "$ROOT" "$@" </dev/null \
    >"$WORK/apply.out" 2>"$WORK/apply.err" &
  APPLY=$!
}
# The apply has finished and waits: its deadline is set. (The new address
# shows before that; the apply may still be executing.)
waiting() { grep -q "applied; it rolls back at" "$WORK/apply.err"; }
exited() {  # exited DESC STATUS: the background apply's exit status
  local rc=0
  wait "$APPLY" || rc=$?
  equals "$1" "$rc" "$2"
}

# 1. Not confirmed: rolled back by the deadline, and the connection lives on.
lan_config 10.10.1.1/24
apply_bg --confirm 3
T=$(wait_for 5000 has_addr 10.10.1.1/24)
within_ms "the change is applied" 5000 "$T"
START=$(now_ms)  # the deadline counts from the end of the apply
check "the old address is gone meanwhile" bash -c "! ip -n $R -4 -o addr show dev lan0 | grep -qF ' 10.10.0.1/24 '"
exited "the apply exits 4: rolled back" 4
within_ms "the old address is back within the deadline + 1 s" 4000 "$(since "$START")"
check "the old address is there" has_addr 10.10.0.1/24
check "the new one is gone" bash -c "! ip -n $R -4 -o addr show dev lan0 | grep -qF ' 10.10.1.1/24 '"
contains "it says why" "$(cat "$WORK/apply.err")" "rolled back"
contains "it names the deadline" "$(cat "$WORK/apply.err")" "not confirmed by the deadline"
touch "$WORK/go"
wait "$HOLD" 2>/dev/null
contains "the held connection still carries data" "$(cat "$WORK/hold.out")" "second"
check "a new connection to the old address succeeds" \
  bash -c "echo hi | ip netns exec $P timeout 3 socat -t 1 - TCP:10.10.0.1:7000 | grep -q hi"
lan_config 10.10.0.1/24
status "plan against the config from before the change: nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
lan_config 10.10.1.1/24

# 2. The apply killed with SIGKILL: the watchdog rolls back by the deadline.
apply_bg --confirm 3
wait_for 10000 waiting >/dev/null
START=$(now_ms)
kill -9 "$APPLY"
wait "$APPLY" 2>/dev/null
T=$(wait_for 6000 has_addr 10.10.0.1/24)
within_ms "SIGKILLed apply: the old address is back within the deadline + 1 s" 4000 "$(since "$START")"
check "and the new one is gone" bash -c "! ip -n $R -4 -o addr show dev lan0 | grep -qF ' 10.10.1.1/24 '"
# The watchdog ends the journal after its last write: waited for.
rolled_back() { nk "$R" confirm --root "$ROOT" --status 2>&1 | grep -qF "rolled back at"; }
within 5000 "the watchdog records the rollback" rolled_back
status "nothing is pending afterwards" 0 nk "$R" confirm --root "$ROOT" --status
contains "status says how the last one ended" "$(cat "$WORK/out")" "rolled back at"

# 3. netkeep confirm from another shell keeps it, past the deadline. (The
# window leaves room for the four commands before the confirm on a loaded
# machine: with 2 s, a run here once rolled back first.)
apply_bg --confirm 5
wait_for 10000 waiting >/dev/null
status "confirm --status while pending" 0 nk "$R" confirm --root "$ROOT" --status
contains "it says until when" "$(cat "$WORK/out")" "rolls back at"
contains "and what it touches" "$(cat "$WORK/out")" "touches addr 10.10.0.1/24 dev lan0"
status "a second apply --confirm is refused while one is pending" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --confirm 5
contains "saying why" "$(cat "$WORK/err")" "is waiting for confirmation until"
status "netkeep confirm" 0 nk "$R" confirm --root "$ROOT"
exited "the waiting apply exits 0" 0
sleep 5.5
check "past the deadline the change stays" has_addr 10.10.1.1/24
status "netkeep confirm with nothing pending: exit 1" 1 nk "$R" confirm --root "$ROOT"

# 4. Back, with confirm --rollback; then signals roll back at once.
lan_config 10.10.0.1/24
apply_bg --confirm 30
wait_for 5000 has_addr 10.10.0.1/24 >/dev/null
status "confirm --rollback rolls back now" 0 nk "$R" confirm --root "$ROOT" --rollback
check "the address is as before the apply again" has_addr 10.10.1.1/24
exited "the waiting apply exits 4" 4
for sig in TERM HUP INT; do
  apply_bg --confirm 30
  wait_for 5000 waiting >/dev/null  # its signal handlers are in place
  kill -$sig "$APPLY"
  T=$(wait_for 2000 has_addr 10.10.1.1/24)
  within_ms "SIG$sig to the waiting apply rolls back at once" 1500 "$T"
  exited "and it exits 4" 4
done
lan_config 10.10.1.1/24
status "plan: nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# 5. Health checks: one that fails rolls back at half the window; passing ones confirm early.
ip netns exec "$P" timeout 60 socat TCP-LISTEN:7001,reuseaddr,fork EXEC:cat &
lan_config 10.10.1.1/24 10.10.1.9/32
START=$(now_ms)
apply_bg --confirm 8 --check tcp:10.10.1.2:7001
exited "a failing tcp check: exit 4" 4
within_ms "rolled back at half the window, before the deadline" 7500 "$(since "$START")"
contains "naming the check and what it saw" "$(cat "$WORK/apply.err")" "check tcp:10.10.1.2:7001 did not pass once"
check "the extra address is gone again" bash -c "! ip -n $R -4 -o addr show dev lan0 | grep -qF ' 10.10.1.9/32 '"
ip -n "$P" addr add 10.10.1.2/24 dev lan
START=$(now_ms)
apply_bg --confirm 30 --check tcp:10.10.1.2:7001 --check ping:10.10.1.2 --check exec:'test -d /'
exited "passing checks confirm: exit 0" 0
within_ms "early, long before the deadline" 10000 "$(since "$START")"
contains "saying so" "$(cat "$WORK/apply.err")" "every check passed 3 times in a row"
check "the change stays" has_addr 10.10.1.9/32
status "a bad check is refused before anything is done" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --confirm 5 --check udp:1.2.3.4:5
status "--check without --confirm is a usage error" 1 nk "$R" apply --config "$CFG" --root "$ROOT" --check ping:10.10.1.2

# 6. nftables: a foreign table stays byte-identical; the counters of what
# the change did not touch keep counting (the forwarding of 8080 stays
# while 9000-9100 comes and goes).
ip netns exec "$R" nft add table ip foreign
ip netns exec "$R" nft add chain ip foreign c '{ type filter hook input priority 10; }'
ip netns exec "$R" nft add rule ip foreign c counter
for i in 1 2; do ip netns exec "$P" timeout 3 socat -T 1 - TCP:203.0.113.62:8080,connect-timeout=1 </dev/null >/dev/null 2>&1; done
foreign_before=$(ip netns exec "$R" nft -a list table ip foreign | sed -E 's/packets [0-9]+ bytes [0-9]+//')
connections() { nk "$R" show | sed -nE "s/^forward tcp 8080 -> .* connections ([0-9]+).*$/\1/p"; }
counted_before=$(connections)
check "connections to 8080 are counted ($counted_before)" test "${counted_before:-0}" -gt 0
owned_before=$(ruleset "$R" | sed -n '/table ip nat/,/^}/p')
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.2", "dest_port": "80"}, {"port": "9000-9100", "dest_addr": "10.10.1.2", "dest_port": "9000-9100"}]}'
apply_bg --confirm 2
in_map() { ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp-ranges | grep -q 9000-9100; }
wait_for 5000 in_map >/dev/null
nft_monitor_start "$R" "$WORK/monitor"
exited "an nftables change not confirmed: exit 4" 4
equals "the rollback is one nftables transaction" "$(monitor_stop | grep -c '^# new generation')" 1
contains "the forwarding was added" "$(cat "$WORK/apply.out")" "+ forward tcp 9000-9100"
contains "and removed by the rollback" "$(cat "$WORK/apply.out")" "- forward tcp 9000-9100"
equals "the owned nat table is as before" "$(ruleset "$R" | sed -n '/table ip nat/,/^}/p')" "$owned_before"
equals "the foreign table is byte-identical" \
  "$(ip netns exec "$R" nft -a list table ip foreign | sed -E 's/packets [0-9]+ bytes [0-9]+//')" "$foreign_before"
equals "the count of 8080's connections was kept" "$(connections)" "$counted_before"
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.2", "dest_port": "80"}]}'
status "plan against the config from before: nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# 7. A saved plan with --confirm.
lan_config 10.10.1.1/24 10.10.1.8/32
nk "$R" plan --config "$CFG" --root "$ROOT" --out "$WORK/plan.saved" >/dev/null 2>&1
apply_bg --plan "$WORK/plan.saved" --confirm 2
wait_for 5000 has_addr 10.10.1.8/32 >/dev/null
exited "apply --plan --confirm: rolled back when not confirmed" 4
check "the saved plan's address is gone again" bash -c "! ip -n $R -4 -o addr show dev lan0 | grep -qF ' 10.10.1.8/32 '"

# 8. Enter on the terminal that started it confirms (a pseudo-terminal, made by script(1)).
if command -v script >/dev/null; then
  lan_config 10.10.1.1/24 10.10.1.6/32
  rc=0
  (sleep 1.5; echo) | script -qec "ip netns exec $R $NETKEEP apply --config $CFG --root $ROOT --confirm 20" \
    /dev/null >"$WORK/tty.out" 2>&1 || rc=$?
  equals "Enter on the terminal confirms: exit 0" "$rc" 0
  contains "it offered Enter" "$(cat "$WORK/tty.out")" "press Enter here"
  contains "and says it was confirmed" "$(cat "$WORK/tty.out")" "confirmed (Enter on the terminal)"
  check "the change stays" has_addr 10.10.1.6/32
else
  echo "skip - Enter on the terminal: script(1) is not installed"
fi

# 9. Links: a rename, an MTU and a MAC come back as they were, up or down.
ip -n "$R" link add name eth5 address 02:00:00:00:00:05 type veth peer name p5 netns "$P"
links() {
  ip -n "$R" -o link show | grep -oE '^[0-9]+: [a-z0-9]+|mtu [0-9]+|link/ether [0-9a-f:]+|,UP' | tr '\n' ' '
}
links_before=$(links)
write "$CFG/interfaces.json" '{"interfaces": [
  {"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:05", "name": "lan1"},
  {"hardware_addr": "02:00:00:00:00:02", "spoof_hardware_addr": "02:00:00:00:00:aa", "name": "lan0",
   "addr": "10.10.1.1/24", "mtu": 1400}]}'
apply_bg --confirm 2
mtu_1400() { ip -n "$R" -o link show dev lan0 | grep -q 'mtu 1400'; }
wait_for 5000 mtu_1400 >/dev/null
check "the change renamed eth5 to lan1" ip -n "$R" link show dev lan1
exited "a link change not confirmed: exit 4" 4
equals "names, MTU, MAC and up/down are as before" "$(links)" "$links_before"
check "eth5 has its name again" ip -n "$R" link show dev eth5

# The watchdogs' messages (and, in a sanitizer build, any report) go to
# watchdog.log in the journal's directory.
WLOG=$(cat "$ROOT"/run/netkeep/confirm-net*/watchdog.log 2>/dev/null)
lacks "the watchdogs reported no sanitizer error" "$WLOG" "Sanitizer"
lacks "nor undefined behaviour" "$WLOG" "runtime error"
lacks "nor a failed rollback" "$WLOG" "rolling back failed"

finish
