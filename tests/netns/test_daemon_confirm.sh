#!/usr/bin/env bash
# run --confirm (issue 15, item 4): the first converged config becomes the
# last good one (a copy under ROOT/var/lib/netkeep, 0600); a new config
# whose checks pass becomes it; one whose check fails is rolled back to the
# last good config, loudly, and not applied again until a file changes;
# the metrics say so.
# Namespaces: the router (lan0 = eth4) and a peer on lan0 (10.10.0.2)
# listening on 7001, which the check connects to.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

confirm_setup
ip netns exec "$P" timeout 100 socat TCP-LISTEN:7001,reuseaddr,fork EXEC:cat &
logged() { grep -qF -- "$1" "$DAEMON_LOG"; }
scrape() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9101; }
KEPT="$ROOT/var/lib/netkeep/last-good"

lan_config 10.10.0.1/24
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9101 \
  --confirm 4 --check tcp:10.10.0.2:7001
within 2000 "the daemon converges" has_addr 10.10.0.1/24
within 2000 "the first converged config becomes the last good one" test -s "$KEPT/fingerprint"
equals "a copy of interfaces.json, mode 0600" "$(stat -c %a "$KEPT/interfaces.json")" 600
equals "in a directory of mode 0700" "$(stat -c %a "$KEPT")" 700
settle

# A good change: its check passes 3 times in a row (a round every 400 ms).
lan_config 10.10.0.1/24 10.10.0.9/32
within 1000 "a new config is applied" has_addr 10.10.0.9/32
contains "it waits for its checks" "$(scrape)" "netkeep_confirm_pending 1"
within 3000 "its checks pass: it is the last good config" logged "every check passed 3 times in a row"
contains "the copy is the new config" "$(cat "$KEPT/interfaces.json")" "10.10.0.9/32"
contains "nothing pending" "$(scrape)" "netkeep_confirm_pending 0"
settle

# A bad change: lan0 moves away from the peer, so the check cannot connect.
lan_config 10.10.1.1/24
within 1000 "a bad config is applied" has_addr 10.10.1.1/24
within 4000 "its failing check rolls it back at half the window" has_addr 10.10.0.1/24
check "the extra address of the last good config is back" has_addr 10.10.0.9/32
check "the bad config's address is gone" lacks_addr 10.10.1.1/24
check "it logs loudly which check failed" logged "ROLLBACK to the last good config: check tcp:10.10.0.2:7001 did not pass once"
M=$(scrape)
contains "metrics: a rollback for a check" "$M" 'netkeep_rollbacks_total{reason="check"} 1'
contains "metrics: nothing pending" "$M" "netkeep_confirm_pending 0"
lacks "metrics: the last good config has a time" "$M" "netkeep_last_good_timestamp_seconds 0.000"
contains "the last good copy is untouched" "$(cat "$KEPT/interfaces.json")" "10.10.0.9/32"
settle
# Drift and reloads hold the kernel to the last good config, not the bad files.
kill -HUP "$DAEMON"
ip -n "$R" addr del 10.10.0.9/32 dev lan0
within 1000 "drift is repaired to the last good config" has_addr 10.10.0.9/32
settle
check "the bad config is not applied again" lacks_addr 10.10.1.1/24

# Fixed: a file changes, so it is applied and judged again.
lan_config 10.10.0.1/24 10.10.0.7/32
within 1000 "a changed file is applied" has_addr 10.10.0.7/32
passed_twice() { [ "$(grep -c 'the last good one (every check passed' "$DAEMON_LOG")" = 2 ]; }
within 3000 "and kept once its checks pass" passed_twice
within 1000 "the copy follows" grep -qF 10.10.0.7/32 "$KEPT/interfaces.json"

kill -TERM "$DAEMON"
wait "$DAEMON" 2>/dev/null
status "run --confirm needs a check" 1 nk "$R" run --config "$CFG" --root "$ROOT" --confirm 5
finish
