#!/usr/bin/env bash
# systemd integration: READY=1 on $NOTIFY_SOCKET after the first reconcile,
# WATCHDOG=1 while $WATCHDOG_USEC is set; SIGINT stops it like SIGTERM.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to listen on the notify socket"; exit 77; }

router_setup
CFG=$(config_from fresh-system)
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
try:
    while True:
        print(s.recv(256).decode(), flush=True)
except socket.timeout:
    pass
' "$WORK/notify.sock" >"$WORK/notify.log" &
wait_until 10000 test -S "$WORK/notify.sock" || echo "# the notify socket is not bound after 10 s"
export NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=200000
daemon_start "$R" --config "$CFG" --root "$ROOT"
unset NOTIFY_SOCKET WATCHDOG_USEC
within 1000 "READY=1 arrives" grep -q "READY=1" "$WORK/notify.log"
# The log reaches its file through a pipe that stamps each line: it may
# come a moment after the notification.
within 1000 "after the first reconcile" grep -q "reconcile 1:" "$DAEMON_LOG"
w0=$(grep -c WATCHDOG=1 "$WORK/notify.log")
three_more() { [ "$(grep -c WATCHDOG=1 "$WORK/notify.log")" -ge $((w0 + 3)) ]; }
within 500 "WATCHDOG=1 keeps arriving (every 100 ms: three more)" three_more
kill -INT "$DAEMON"
wait "$DAEMON"; code=$?
equals "SIGINT: exit status 0" "$code" 0
finish
