#!/usr/bin/env bash
# The daemon never waits on its log (issue 36). Its stderr goes into a FIFO
# that is held open and full, and nobody reads: 10,000 forwardings are
# applied, then one more within 1 s, and /metrics answers within 1 s,
# counting the lines dropped; once a reader starts, the daemon says how
# many it dropped; SIGTERM is not held up by a stuck log either. Then a
# cold start at the full port space (131,070 forwardings) logs a bounded
# summary, not a line per op.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

router_setup
CFG=$(config_from fresh-system)
elements() { ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp 2>/dev/null | grep -o 'counter packets' | wc -l; }
has_port() { ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp 2>/dev/null | grep -q "$1 counter"; }
metrics() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 1 - TCP:127.0.0.1:9102; }
dropped() { metrics | awk '$1 == "netkeep_log_lines_dropped_total" { print $2 }'; }
# fill FIFO: writes into it until the pipe is full (it is held open by fd 7)
fill() {
  python3 - "$1" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
for chunk in (b"filler\n" * 512, b"\n"):  # a chunk that no longer fits, then bytes
    try:
        while True:
            os.write(fd, chunk)
    except BlockingIOError:
        pass
PY
}

# A FIFO held open (fd 7) and full: every write into it blocks.
FIFO="$WORK/log.fifo"
mkfifo "$FIFO"
exec 7<>"$FIFO"
fill "$FIFO"
fw_n 10000
# A queue of 16 lines: the first reconcile's summary alone fills it.
ip netns exec "$R" "$NETKEEP" run --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9102 \
  --log-queue 16 2>"$FIFO" &
DAEMON=$!
ten_thousand() { [ "$(elements)" = 10000 ]; }
# The bound is the kernel's and the build's, not the log's: a cold start
# of 10,000 takes a second or two alone, more beside the package build.
within 30000 "10,000 forwardings applied while nobody reads the log" ten_thousand
fw_n 10000 60000
within 1000 "then +1 forwarding applied within 1 s" has_port 60000
answers() { [ -n "$(dropped)" ]; }
within 1000 "/metrics answers within 1 s" answers
d=$(dropped)
check "and counts the log lines dropped ($d)" test "${d:-0}" -gt 0
fw_n 10000
gone() { ! has_port 60000; }
within 1000 "-1 forwarding applied within 1 s" gone

# A reader at last: the filler, the queued lines, then the count.
cat "$FIFO" >"$WORK/log" &
READER=$!
said_dropped() { grep -qE '^netkeep: log: [0-9]+ lines dropped: its reader did not keep up' "$WORK/log"; }
within 5000 "once read, the daemon says how many lines it dropped" said_dropped
n=$(grep -oE '^netkeep: log: [0-9]+ lines dropped' "$WORK/log" | awk '{ s += $3 } END { print s + 0 }')
check "as many as /metrics counted before it ($n >= $d)" test "$n" -ge "$d"
contains "the first reconcile's summary is in the log" "$(cat "$WORK/log")" "reconcile 1:"

# Stuck again: SIGTERM still ends the daemon, without waiting for the log
# for more than a second.
kill "$READER"; wait "$READER" 2>/dev/null
fill "$FIFO"
kill -TERM "$DAEMON"
ended() { ! kill -0 "$DAEMON" 2>/dev/null; }
within 3000 "SIGTERM with a stuck log: the daemon exits" ended
rc=0; wait "$DAEMON" 2>/dev/null || rc=$?
equals "with status 0" "$rc" 0
exec 7>&-

# A cold start at the full port space, tcp and udp: 131,070 forwardings in
# one plan, logged as counts and the first ops.
router_setup_second
CFG=$(config_from fresh-system)
ROOT="$WORK/root2"; mkdir -p "$ROOT/tmp"
python3 - >"$CFG/portforwardings.json" <<'PY'
import json, sys
f = [{"proto": "tcp,udp", "port": str(p), "dest_addr": "10.10.0.%d" % (2 + p % 250), "dest_port": str(p)} for p in range(1, 65536)]
json.dump({"forwardings": f}, sys.stdout)
PY
daemon_start "$R2" --config "$CFG" --root "$ROOT"
converged() { grep -q '^[0-9]* netkeep: reconcile 1: [0-9]* ops applied, 0 failed' "$DAEMON_LOG"; }
within 60000 "a cold start of 131,070 forwardings" converged
settle
lines=$(wc -l <"$DAEMON_LOG")
check "logged in at most 60 lines ($lines)" test "$lines" -le 60
contains "with the count of each kind of op" "$(cat "$DAEMON_LOG")" "131070 forward_add"
contains "and a pointer to the rest" "$(cat "$DAEMON_LOG")" "more ops (netkeep show lists what the kernel holds)"
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null
finish
