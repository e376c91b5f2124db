#!/usr/bin/env bash
# The daemon keeps its view of the owned nftables objects current instead of
# dumping thousands of rules per reconcile: from its own commits (the
# kernel echoes new rules' handles) and from the event stream (another
# program's transaction that touches nothing netkeep owns moves the view to
# its generation; the events of its own commits are told apart by the
# port id the kernel stamps on them). What it cannot account for is dumped again: a change to
# an owned chain, or events lost to an overrun; and the periodic resync
# always dumps. Full dumps are counted by the metric
# netkeep_nftables_dumps_total.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
scrape() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9101; }
dumps() {
  local out
  for _ in 1 2 3 4 5; do out=$(scrape); [ -n "$out" ] && break; sleep 0.2; done
  echo "$out" | awk '$1 == "netkeep_nftables_dumps_total" {print $2}'; }
rules() { forwardings "$R" | wc -l; }
has_port() { forwardings "$R" | grep -q "^tcp $1 "; }
lacks_port() { ! has_port "$1"; }
has_rule() { ip netns exec "$R" nft list chain ip nat router7-portforwardings | grep -q "$1"; }
lacks_rule() { ! has_rule "$1"; }

fw_n 2000
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9101
converged() { [ "$(rules)" = 2000 ] && [ "$(reconciles)" -ge 2 ]; }
within 20000 "converged on 2000 forwardings, and confirmed" converged
settle
d0=$(dumps)
check "the first reconciles dumped ($d0)" test "$d0" -ge 1

n0=$(reconciles)
fw_n 2000 60000
within 5000 "+1 forwarding applied" has_port 60000
settle
equals "+1 forwarding: no dump (the view followed netkeep's own commit)" "$(dumps)" "$d0"
equals "+1 forwarding: one reconcile (its own commit's events, stamped with its port id, wake nothing)" \
  "$(($(reconciles) - n0))" 1
fw_n 2000
within 5000 "-1 forwarding applied" lacks_port 60000
settle
equals "-1 forwarding: no dump" "$(dumps)" "$d0"

# Another program's tables: its transactions touch nothing netkeep owns.
ip netns exec "$R" nft add table ip docker-like
ip netns exec "$R" nft add chain ip docker-like c
ip netns exec "$R" nft add rule ip docker-like c counter
# Not waited for: the snapshot reads the events queued before it judges
# the view (NftEvents::catch_up), however late the daemon is to them.
fw_n 2000 60001
within 5000 "after other programs' commits, +1 applied" has_port 60001
settle
equals "no dump: the view moved along with their generations" "$(dumps)" "$d0"

# A change to an owned chain is not taken on trust: dumped and repaired.
ip netns exec "$R" nft insert rule ip nat router7-portforwardings tcp dport 4444 accept
within 5000 "a foreign rule in the forwarding chain is removed" lacks_rule "dport 4444"
settle
check "that took a dump ($(dumps) > $d0)" test "$(dumps)" -gt "$d0"
equals "and every forwarding is in place" "$(rules)" 2001

# netkeep's own large commit: 10,000 forwardings at once, announced as
# 40,000 set-element events, fit the event socket (sized from the batch);
# none is lost to an overrun that would force another full dump.
fw_n 0
no_rules() { [ "$(rules)" = 0 ]; }
within 10000 "every forwarding removed" no_rules
settle
fw_n 10000
# Alone it takes a second or two; beside the package build, and under ASan
# with fuzzer coverage, it took over 30 s (within allows three times the
# bound there). What is asserted is that it happens, in one commit,
# without an overrun: not how fast.
limit=40000
logged_10000() { grep -q ' 10000 ops applied' "$DAEMON_LOG"; }
if ! within "$limit" "10,000 forwardings added in one commit" logged_10000; then
  echo "    in the kernel: $(rules); the reconciles:"; grep 'ops applied' "$DAEMON_LOG" | tail -3 | sed 's/^/    /'
fi
sleep 0.5
settle
lacks "its own large commit overran no event buffer" "$(grep -v ' forward ' "$DAEMON_LOG")" "events were lost"
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null

# The periodic resync dumps in full, whatever the view says.
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9101 --resync 1
started() { [ "$(reconciles)" -ge 1 ]; }
within 20000 "restarted" started
settle
r1=$(dumps)
two_more_dumps() { [ "$(dumps)" -ge $((r1 + 2)) ]; }
within 5000 "two resyncs (1 s apart) later, more dumps than $r1" two_more_dumps
finish
