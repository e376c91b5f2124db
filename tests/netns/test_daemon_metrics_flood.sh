#!/usr/bin/env bash
# The metrics server under abuse (hardening issue): HEAD gets headers and
# no body, other methods get 405 with Allow, every metric has HELP and
# TYPE; and 1,500 connections held open neither starve the reconcile of
# file descriptors nor make the daemon spin: a config change is still
# applied within 1 s, with the daemon's CPU under 10 %.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the connection flood"; exit 77; }

router_setup
CFG=$(config_from fresh-system)
PORT=9102
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics "127.0.0.1:$PORT"
started() { [ "$(reconciles)" -ge 1 ]; }
within 10000 "the daemon converged" started
settle
ask() { printf "$1" | ip netns exec "$R" socat -t 2 - "TCP:127.0.0.1:$PORT" 2>/dev/null | tr -d '\r'; }

head=$(ask 'HEAD /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n')
contains "HEAD: 200" "$head" "HTTP/1.1 200 OK"
length=$(sed -nE 's/^Content-Length: ([0-9]+)$/\1/p' <<<"$head")
check "HEAD: the length of the body it would send ($length)" test "${length:-0}" -gt 100
lacks "HEAD: and no body" "$head" "netkeep_reconciles_total"
post=$(ask 'POST /metrics HTTP/1.1\r\nHost: netkeep\r\nContent-Length: 5\r\n\r\nhello')
contains "POST: 405" "$post" "HTTP/1.1 405 Method Not Allowed"
contains "POST: naming what is allowed" "$post" "Allow: GET, HEAD"
body=$(ask 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | sed '1,/^$/d')
families=$(grep -c '^# TYPE ' <<<"$body")
equals "every metric has HELP and TYPE" "$(grep -c '^# HELP ' <<<"$body")" "$families"

# The flood: 1,500 connections held, sending nothing, with the daemon's
# descriptors limited as systemd's default soft limit would (1,024) — and
# here the hard limit too, so raising it at start is no help.
prlimit --pid "$DAEMON" --nofile=1024:1024
ip netns exec "$R" python3 - "$PORT" <<'PY' &
import socket, sys, time
held = []
for _ in range(1500):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", int(sys.argv[1])))
    except BlockingIOError:
        pass
    held.append(s)
time.sleep(12)
PY
FLOOD=$!
established() { [ "$(ip netns exec "$R" ss -Htn state established "( dport = :$PORT )" | wc -l)" -ge 500 ]; }
wait_until 10000 established || echo "# fewer than 500 connections established after 10 s"
ticks() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8443", "dest_addr": "10.10.0.23", "dest_port": "443"}]}'
within 1000 "a config change is applied within 1 s while 1,500 connections are held" \
  bash -c "ip netns exec $R nft list map ip nat netkeep-portforwardings-tcp | grep -q '8443 counter'"
sleep 2
t1=$(ticks)
cpu_pct=$(((t1 - t0) * 100 * 1000 / hz / 3000))
check "the daemon's CPU stayed under 10 % (${cpu_pct} %)" test "$cpu_pct" -lt 10
lacks "no reconcile ran out of file descriptors" "$(cat "$DAEMON_LOG")" "Too many open files"
kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null
check "the daemon still runs" kill -0 "$DAEMON"
finish
