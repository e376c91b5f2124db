#!/usr/bin/env bash
# Daemon must-holds 5, 8 and 9: quiet when idle; /metrics serves router7's
# counter names and netkeep's own, the forward counter rises with forwarded
# traffic, and a client that connects and sends nothing delays no
# reconcile; --notify-pidfile signals after a changing reconcile only.
source "$(dirname "$0")/lib.sh"

R=$(new_ns router); W=$(new_ns wan); A=$(new_ns hosta)
ROOT="$WORK/root"; mkdir -p "$ROOT/tmp"
pair() {
  ip -n "$R" link add name "$1" address "$2" type veth peer name h0 netns "$3"
  ip -n "$3" link set h0 up
  ip -n "$3" addr add "$4" dev h0
}
pair eth3 02:00:00:00:00:01 "$W" 203.0.113.1/25
pair eth4 02:00:00:00:00:02 "$A" 10.10.0.23/24
ip -n "$A" route add default via 10.10.0.1
CFG="$WORK/config"
write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24"}]}'
write "$CFG/dhcp4/wire/lease.json" '{"client_ip": "203.0.113.62", "subnet_mask": "255.255.255.128", "router": "203.0.113.1"}'
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'

# A process that records every SIGUSR1 it gets.
SIGLOG="$WORK/usr1"
: >"$SIGLOG"
bash -c "trap 'echo usr1 >>$SIGLOG' USR1; while :; do sleep 0.05; done" &
TARGET=$!
echo "$TARGET" >"$WORK/target.pid"

daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9100 \
  --notify-pidfile "$WORK/target.pid" --notify-pidfile "$WORK/missing.pid"
settle
signals() { wc -l <"$SIGLOG"; }
check "the notified process got SIGUSR1 after the first (changing) reconcile" test "$(signals)" -ge 1
within 2000 "a missing pidfile is a logged warning" grep -qF "warning: --notify-pidfile $WORK/missing.pid" "$DAEMON_LOG"

# Quiet when idle. The reconciles are counted by the daemon itself
# (/metrics answers from its own thread), not by its log, which may lag.
scrape() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9100; }
metric() { scrape | awk -v m="$1" '$1 == m {print $2}'; }
counted() { scrape | awk '/^netkeep_reconciles_total/ { s += $2; n++ } END { if (n) print s }'; }
ticks() { awk '{print $14 + $15}' "/proc/$DAEMON/stat"; }
hz=$(getconf CLK_TCK)
n0=$(counted); t0=$(ticks)
check "the daemon counts its reconciles ($n0)" test -n "$n0"
sleep 3
n1=$(counted); t1=$(ticks)
equals "no reconcile over 3 s of idling" "$n1" "$n0"
n1=$(reconciles)
cpu_ms=$(((t1 - t0) * 1000 / hz))
check "under 0.05 s of CPU over those 3 s (${cpu_ms} ms)" test "$cpu_ms" -lt 50

# An empty reconcile (SIGHUP asks for one) notifies no one.
s0=$(signals)
kill -HUP "$DAEMON"
settle
check "SIGHUP ran a reconcile" test "$(reconciles)" -gt "$n1"
equals "an empty reconcile sent no SIGUSR1" "$(signals)" "$s0"
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8081", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
settle
check "a changing reconcile sent SIGUSR1" test "$(signals)" -gt "$s0"

# Metrics.
m=$(scrape)
for name in 'nftables_filter_forward_packets{family="ipv4"}' 'nftables_filter_forward_bytes{family="ipv6"}' \
            'nftables_filter_input_packets{family="ipv4"}' 'nftables_filter_input_bytes{family="ipv4"}' \
            'nftables_filter_output_packets{family="ipv6"}' 'nftables_filter_output_bytes{family="ipv4"}' \
            'netkeep_reconciles_total{result="ok"}' 'netkeep_reconcile_duration_seconds_bucket{le="+Inf"}' \
            'netkeep_ops_applied_total{kind="nft_rule_add"}' 'netkeep_drift_events_total{source="config"}' \
            'netkeep_last_success_timestamp_seconds' \
            'netkeep_forwarding_connections_total{proto="tcp",port="8081",dest="10.10.0.23:80"}' \
            'netkeep_forwarding_packets_total{proto="tcp",port="8081",dest="10.10.0.23:80"}' \
            'netkeep_forwarding_bytes_total{proto="tcp",port="8081",dest="10.10.0.23:80"}'; do
  contains "/metrics serves $name" "$m" "$name "
done
f0=$(metric 'nftables_filter_forward_packets{family="ipv4"}')
ip netns exec "$A" bash -c 'for i in $(seq 1 20); do echo x >/dev/udp/203.0.113.1/9; done' 2>/dev/null
f1=$(metric 'nftables_filter_forward_packets{family="ipv4"}')
check "the forward counter rises with forwarded traffic ($f0 -> $f1)" test "$f1" -ge $((f0 + 20))
f2=$(metric 'nftables_filter_forward_packets{family="ipv4"}')
check "reading it does not reset it ($f1 -> $f2)" test "$f2" -ge "$f1"

# A client that connects and sends nothing.
(sleep 8 | ip netns exec "$R" socat -u - TCP:127.0.0.1:9100 >/dev/null 2>&1) &
connected() { [ -n "$(ip netns exec "$R" ss -Htn state established '( dport = :9100 )')" ]; }
wait_until 10000 connected || echo "# the silent client has not connected after 10 s"
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8082", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
within 500 "a silent HTTP client delays no reconcile" \
  bash -c "ip netns exec $R nft list map ip nat netkeep-portforwardings-tcp | grep -q '8082 counter'"
garbage=$(printf 'NONSENSE\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9100 2>&1; echo "rc=$?")
check "a malformed request does not stop the server" bash -c "[ -n \"\$(printf 'GET /metrics HTTP/1.1\r\n\r\n' | ip netns exec $R socat -t 2 - TCP:127.0.0.1:9100)\" ]"
check "the daemon is still running" kill -0 "$DAEMON"
kill "$TARGET"
finish
