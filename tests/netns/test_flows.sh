#!/usr/bin/env bash
# Flows in flight (issue 27): a forwarding changed or removed takes effect
# for the streams already going through it. Their conntrack entries (made
# by the old DNAT) are deleted right after the nftables transaction; other
# forwardings' streams and a LAN host's masqueraded flow lose no packet.
# Namespaces: wan W (203.0.113.1), the router R (uplink0 203.0.113.62 by a
# lease), and the LAN L, whose one link carries both hosts' addresses
# (10.10.0.23 and .24). Senders send a numbered datagram every 20 ms.
source "$(dirname "$0")/lib.sh"
for tool in python3 socat conntrack; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/deps installs it)"; exit 77; }
done

R=$(new_ns router)
W=$(new_ns wan)
L=$(new_ns lan)
ip -n "$R" link add name eth3 address 02:00:00:00:00:01 type veth peer name h0 netns "$W"
ip -n "$R" link add name eth4 address 02:00:00:00:00:02 type veth peer name h0 netns "$L"
ip -n "$W" link set h0 up
ip -n "$W" addr add 203.0.113.1/25 dev h0
ip -n "$L" link set h0 up
ip -n "$L" addr add 10.10.0.23/24 dev h0
ip -n "$L" addr add 10.10.0.24/24 dev h0
ip -n "$L" route add default via 10.10.0.1
ROOT="$WORK/root"
CFG="$WORK/config"
mkdir -p "$ROOT/tmp" "$CFG"
lan_config 10.10.0.1/24  # lib.sh: uplink0 and lan0 by their MACs
write "$CFG/dhcp4/wire/lease.json" '{"valid_until": "2099-01-01T00:00:00Z", "client_ip": "203.0.113.62",
  "subnet_mask": "255.255.255.128", "router": "203.0.113.1", "dns": ["192.0.2.53"]}'
forwardings() {  # forwardings [keep_tcp]: udp 5000 to $TO5000 (none when empty), the rest fixed
  local first=""
  [ -n "$TO5000" ] && first="{\"proto\": \"udp\", \"port\": \"5000\", \"dest_addr\": \"$TO5000\", \"dest_port\": \"5000\"},"
  write "$CFG/portforwardings.json" "{${1:+\"keep_tcp\": true, }\"forwardings\": [$first
  {\"proto\": \"udp\", \"port\": \"5001\", \"dest_addr\": \"10.10.0.23\", \"dest_port\": \"5001\"},
  {\"proto\": \"tcp\", \"port\": \"8080\", \"dest_addr\": \"$TO8080\", \"dest_port\": \"80\"}]}"
}
TO5000=10.10.0.23 TO8080=10.10.0.23
forwardings
status "the first apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

cat >"$WORK/flows.py" <<'PY'
import os, select, socket, sys, time
mode, stop = sys.argv[1], sys.argv[2]
deadline = time.time() + 90
if mode == "send":  # send STOP DST PORT SPORT [TAG]: "[TAG]N" every 20 ms from SPORT
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[5])))
    tag = sys.argv[6].encode() if len(sys.argv) > 6 else b""
    n = 0
    while not os.path.exists(stop) and time.time() < deadline:
        s.sendto(tag + b"%d" % n, (sys.argv[3], int(sys.argv[4])))
        n += 1
        time.sleep(0.02)
elif mode == "recv":  # recv STOP OUT ADDR:PORT...: "ADDR:PORT N" for each datagram
    out = open(sys.argv[3], "a", buffering=1)
    socks = {}
    for ap in sys.argv[4:]:
        a, p = ap.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, int(p)))
        socks[s] = ap
    while not os.path.exists(stop) and time.time() < deadline:
        for s in select.select(list(socks), [], [], 0.2)[0]:
            out.write("%s %s\n" % (socks[s], s.recv(100).decode()))
elif mode == "tcp":  # tcp STOP OUT DST PORT: one connection, a line every 50 ms and its echo
    out = open(sys.argv[3], "a", buffering=1)
    c = socket.create_connection((sys.argv[4], int(sys.argv[5])), timeout=3)
    n = 0
    try:
        while not os.path.exists(stop) and time.time() < deadline:
            c.sendall(b"%d\n" % n)
            got = c.recv(100)
            out.write("ok %d\n" % n if got else "closed\n")
            if not got:
                break
            n += 1
            time.sleep(0.05)
    except ConnectionResetError:
        out.write("reset\n")
    except OSError as e:
        out.write("error %s\n" % e)
PY
STOP="$WORK/stop"
flows() { ip netns exec "$1" python3 "$WORK/flows.py" "${@:2}" & }
RECV="$WORK/recv" MASQ="$WORK/masq"
flows "$L" recv "$STOP" "$RECV" 10.10.0.23:5000 10.10.0.24:5000 10.10.0.23:5001
flows "$W" recv "$STOP" "$MASQ" 203.0.113.1:7000
for ns_host in "$L 10.10.0.23" "$L 10.10.0.24"; do
  set -- $ns_host
  ip netns exec "$1" socat TCP-LISTEN:80,bind="$2",reuseaddr,fork EXEC:cat 2>/dev/null &
done
wait_until 5000 listening "$L" udp 5001
wait_until 5000 listening "$L" tcp 80
flows "$W" send "$STOP" 203.0.113.62 5000 40000
flows "$W" send "$STOP" 203.0.113.62 5001 40001
flows "$L" send "$STOP" 203.0.113.1 7000 6000
# Another program's DNAT (a table of its own, as docker keeps) to the very
# destination udp 5000 has now: its flow is not netkeep's to end.
ip netns exec "$R" nft -f - <<'NFT'
table ip foreign {
  chain pre { type nat hook prerouting priority -100; policy accept; udp dport 5002 dnat to 10.10.0.23:5000; }
}
NFT
flows "$W" send "$STOP" 203.0.113.62 5002 40003 f

got() { grep -c "^$1 [0-9]" "$RECV" 2>/dev/null || true; }  # netkeep's forwardings' streams
has() { [ "$(got "$1")" -ge "$2" ]; }
within 5000 "the stream to udp 5000 reaches 10.10.0.23" has 10.10.0.23:5000 5
within 5000 "the stream to udp 5001 reaches 10.10.0.23" has 10.10.0.23:5001 5
masq_has() { [ "$(wc -l <"$MASQ")" -ge 5 ]; }
within 5000 "the LAN host's own stream reaches the wan (masquerade)" masq_has
foreign_has() { grep -q "^10.10.0.23:5000 f" "$RECV"; }
within 5000 "another program's DNAT of udp 5002 reaches 10.10.0.23:5000" foreign_has

# A reconcile that changes no forwarding sends no conntrack request.
status "an apply with nothing to change" 0 nk "$R" apply --config "$CFG" --root "$ROOT" --stats
contains "it sends no conntrack request" "$(cat "$WORK/err")" "conntrack 0 requests"

# 1. Moved: udp 5000 to .24. plan counts the flow; apply deletes its entry.
TO5000=10.10.0.24
forwardings
status "plan: changes pending" 2 nk "$R" plan --config "$CFG" --root "$ROOT"
contains "plan: the forwarding moves" "$(cat "$WORK/out")" "~ forward udp 5000: -> 10.10.0.24:5000 (was 10.10.0.23:5000)"
contains "plan: and its flow in flight with it" "$(cat "$WORK/out")" \
  "~ conntrack udp 5000 -> 10.10.0.23:5000: 1 flow in flight will move"
nk "$R" plan --json --config "$CFG" --root "$ROOT" >"$WORK/plan.json"
contains "plan --json says it too" "$(cat "$WORK/plan.json")" '"kind": "flows_end", "proto": "udp", "port": "5000", "dest_addr": "10.10.0.23", "dest_port": "5000", "moves": true, "in_flight": 1'
n=$(got 10.10.0.23:5000)
within 1000 "the stream still flows to 10.10.0.23 just before the apply" has 10.10.0.23:5000 $((n + 2))
status "apply the move" 0 nk "$R" apply --config "$CFG" --root "$ROOT" --stats
contains "apply reports the entry deleted" "$(cat "$WORK/err")" "flows in flight ended: 0 tcp, 1 udp"
within 1000 "the stream reaches 10.10.0.24 within a second" has 10.10.0.24:5000 1
after23=$(got 10.10.0.23:5000)
sleep 0.5
equals "10.10.0.23 gets none of it any more" "$(got 10.10.0.23:5000)" "$after23"
contains "conntrack (the CLI) sees the stream go to .24 now" \
  "$(ip netns exec "$R" conntrack -L -p udp --dport 5000 2>/dev/null)" "src=10.10.0.24"

# 2. Removed: udp 5000 no longer forwarded; the stream stops.
TO5000=""
forwardings
status "apply the removal" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "apply reports the entry deleted" "$(cat "$WORK/err")" "flows in flight ended: 0 tcp, 1 udp"
stopped() {
  local n; n=$(got 10.10.0.24:5000)
  sleep 0.3
  [ "$(got 10.10.0.24:5000)" = "$n" ]
}
within 1000 "the removed forwarding delivers nothing within a second" stopped

# 3. TCP: a connection through a moved forwarding ends (the router's
# conntrack forgets it; its next segment is DNATed to the new host, which
# answers with a reset).
TCP1="$WORK/tcp1"
flows "$W" tcp "$STOP" "$TCP1" 203.0.113.62 8080
tcp_ok() { [ "$(grep -c '^ok' "$1" 2>/dev/null)" -ge "$2" ]; }
within 5000 "a TCP connection through 8080 carries data" tcp_ok "$TCP1" 5
TO8080=10.10.0.24
forwardings
status "apply: 8080 to 10.10.0.24" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "apply reports the TCP entry deleted" "$(cat "$WORK/err")" "flows in flight ended: 1 tcp, 0 udp"
reset() { grep -q '^reset' "$TCP1"; }
within 2000 "the peer sees the connection reset" reset

# keep_tcp: connections keep their old destination until they close.
TCP2="$WORK/tcp2"
flows "$W" tcp "$STOP" "$TCP2" 203.0.113.62 8080
within 5000 "a new TCP connection through 8080 (to .24)" tcp_ok "$TCP2" 5
TO8080=10.10.0.23
forwardings keep_tcp
status "apply with keep_tcp: 8080 back to .23" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
lacks "no entry deleted" "$(cat "$WORK/err")" "flows in flight ended"
n=$(grep -c '^ok' "$TCP2")
within 3000 "the connection carries on" tcp_ok "$TCP2" $((n + 20))
lacks "and was never reset" "$(cat "$TCP2")" "reset"

# Nothing else lost a packet: the sequence numbers have no gap.
touch "$STOP"
sleep 0.3
gapless() {  # gapless KEY FILE: the numbers after KEY in FILE run without a gap
  awk -v k="$1" '$1 == k {n[NR] = $2; c++; if (c > 1 && $2 != last + 1) gap++; last = $2}
    END {exit (c < 10 || gap > 0)}' "$2"
}
check "the stream through udp 5001 lost no packet" gapless 10.10.0.23:5001 "$RECV"
awk '{print "masq", $2}' "$MASQ" >"$WORK/masq2"
check "the LAN host's masqueraded stream lost no packet" gapless masq "$WORK/masq2"
awk '$2 ~ /^f/ {print "foreign", substr($2, 2)}' "$RECV" >"$WORK/foreign"
check "another program's DNAT to the moved forwarding's old destination lost no packet" \
  gapless foreign "$WORK/foreign"

# The daemon does the same on a config change, and counts it.
TO5000=10.10.0.23
forwardings
STOP="$WORK/stop2" RECV="$WORK/recv2"
sleep 0.3  # the first receivers are gone
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9100
flows "$L" recv "$STOP" "$RECV" 10.10.0.23:5000 10.10.0.24:5000
wait_until 5000 listening "$L" udp 5000
flows "$W" send "$STOP" 203.0.113.62 5000 40002
within 10000 "run: the stream to udp 5000 reaches 10.10.0.23" has 10.10.0.23:5000 5
TO5000=10.10.0.24
forwardings
within 2000 "run: it moves to 10.10.0.24 on the config change" has 10.10.0.24:5000 1
scrape() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9100; }
contains "metrics count the deleted entry" "$(scrape)" 'netkeep_conntrack_deleted_total{proto="udp"} 1'
contains "the daemon logs it" "$(cat "$DAEMON_LOG")" "flows in flight ended: 0 tcp, 1 udp"
metric() { scrape | awk -v m="$1" '$1 == m {print $2}'; }
equals "its first flows to end were found by one read of the table" "$(metric netkeep_conntrack_dumps_total)" 1
# Back to .23: the entry is found in the index the conntrack events keep
# (backends/flow_index.hpp), without reading the table again.
n=$(got 10.10.0.23:5000)
TO5000=10.10.0.23
forwardings
within 2000 "run: it moves back to 10.10.0.23" has 10.10.0.23:5000 $((n + 1))
equals "the second move read no table: the index had its entry" "$(metric netkeep_conntrack_dumps_total)" 1
contains "metrics count both deleted entries" "$(scrape)" 'netkeep_conntrack_deleted_total{proto="udp"} 2'
# With conntrack events switched off, the index cannot be kept: each
# change reads the table, and the stream still moves.
ip netns exec "$R" sysctl -qw net.netfilter.nf_conntrack_events=0
n=$(got 10.10.0.24:5000)
TO5000=10.10.0.24
forwardings
within 2000 "run, events off: it moves to 10.10.0.24 again" has 10.10.0.24:5000 $((n + 1))
equals "events off: the table was read for it" "$(metric netkeep_conntrack_dumps_total)" 2
touch "$STOP"
kill "$DAEMON" 2>/dev/null
wait "$DAEMON" 2>/dev/null

# Each shape of forwarding map carries traffic: a range to one port, a
# range to itself, and a port cut from such a range by first match (the
# maps of one-port data, issue 26).
write "$CFG/portforwardings.json" '{"forwardings": [
  {"proto": "udp", "port": "6000-6005", "dest_addr": "10.10.0.24", "dest_port": "5002"},
  {"proto": "udp", "port": "7000-7008", "dest_addr": "10.10.0.23", "dest_port": "7000-7008"},
  {"proto": "udp", "port": "7000-7009", "dest_addr": "10.10.0.24", "dest_port": "7000-7009"}]}'
status "apply the three shapes" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
STOP="$WORK/stop3" RECV="$WORK/recv3"
flows "$L" recv "$STOP" "$RECV" 10.10.0.24:5002 10.10.0.23:7004 10.10.0.24:7009
sleep 0.3
flows "$W" send "$STOP" 203.0.113.62 6003 40020
flows "$W" send "$STOP" 203.0.113.62 7004 40021
flows "$W" send "$STOP" 203.0.113.62 7009 40022
within 3000 "udp 6003 reaches 10.10.0.24:5002 (a range to one port)" has 10.10.0.24:5002 1
within 3000 "udp 7004 reaches 10.10.0.23:7004 (a range to itself)" has 10.10.0.23:7004 1
within 3000 "udp 7009 reaches 10.10.0.24:7009 (one port cut from a range)" has 10.10.0.24:7009 1
touch "$STOP"
finish
