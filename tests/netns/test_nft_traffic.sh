#!/usr/bin/env bash
# nftables must-hold 7, with real packets, in two topologies:
#   bridge: lan0 is a bridge netkeep makes of two router ports, one to each
#     LAN host, with br_netfilter's iptables hook on in the router's
#     namespace (net.bridge.bridge-nf-call-iptables=1, as docker sets it);
#   nic: lan0 is a plain veth to a switch namespace that bridges the LAN
#     hosts.
# Namespaces: wan (203.0.113.1), the router (uplink0 by DHCP lease), LAN
# hosts A 10.10.0.23 and B 10.10.0.50. Servers answer with the address they
# see the client at, or with their own name. Nothing leaves these namespaces.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

# serve_tcp NS PORT [NAME], serve_udp NS PORT: answer each connection or
# datagram with the peer's address (or NAME). The answer waits for the
# request to be read: were the shell gone first, socat's write of the
# request would fail with EPIPE and no answer would be sent.
ANSWER='read -r _; echo $SOCAT_PEERADDR'
serve_tcp() {
  local answer=$ANSWER
  [ -n "${3:-}" ] && answer="read -r _; echo $3"
  ip netns exec "$1" timeout 60 socat TCP-LISTEN:"$2",reuseaddr,fork SYSTEM:"$answer" &
}
serve_udp() {
  ip netns exec "$1" timeout 60 socat UDP-RECVFROM:"$2",fork SYSTEM:"$ANSWER" &
}
ask_tcp() { ip netns exec "$1" timeout 5 socat -t 2 - TCP:"$2" </dev/null 2>&1; }
ask_udp() { echo ping | ip netns exec "$1" timeout 5 socat -t 2 - UDP:"$2" 2>&1; }

# topology bridge|nic: fresh namespaces R, W, A, B and the config in CFG
topology() {
  local kind=$1
  R=$(new_ns "router-$kind"); W=$(new_ns "wan-$kind"); A=$(new_ns "hosta-$kind"); B=$(new_ns "hostb-$kind")
  ROOT="$WORK/root-$kind"; mkdir -p "$ROOT/tmp"
  ip -n "$R" link add name eth3 address 02:00:00:00:00:01 type veth peer name h0 netns "$W"
  ip -n "$W" link set h0 up
  ip -n "$W" addr add 203.0.113.1/25 dev h0
  local lan
  if [ "$kind" = bridge ]; then
    ip -n "$R" link add name eth5 address 02:00:00:00:00:03 type veth peer name h0 netns "$A"
    ip -n "$R" link add name eth6 address 02:00:00:00:00:04 type veth peer name h0 netns "$B"
    ip netns exec "$R" sysctl -qw net.bridge.bridge-nf-call-iptables=1
    lan='{"name": "lan0", "addr": "10.10.0.1/24"}],
 "bridges": [{"name": "lan0", "interface_hardware_addrs": ["02:00:00:00:00:03", "02:00:00:00:00:04"]}]}'
  else
    S=$(new_ns switch)
    ip -n "$S" link add name sw type bridge
    ip -n "$S" link set sw up
    ip -n "$R" link add name eth5 address 02:00:00:00:00:05 type veth peer name up0 netns "$S"
    ip -n "$S" link add name pa type veth peer name h0 netns "$A"
    ip -n "$S" link add name pb type veth peer name h0 netns "$B"
    for port in up0 pa pb; do ip -n "$S" link set "$port" master sw up; done
    lan='{"hardware_addr": "02:00:00:00:00:05", "name": "lan0", "addr": "10.10.0.1/24"}]}'
  fi
  for h in "$A 10.10.0.23/24" "$B 10.10.0.50/24"; do
    set -- $h
    ip -n "$1" link set h0 up
    ip -n "$1" addr add "$2" dev h0
    ip -n "$1" route add default via 10.10.0.1
  done
  CFG="$WORK/config-$kind"
  write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  '"$lan"
  write "$CFG/dhcp4/wire/lease.json" '{"client_ip": "203.0.113.62", "subnet_mask": "255.255.255.128", "router": "203.0.113.1"}'
  # 8045 inside 8040-8060 is router7's own test config: the first match wins.
  write "$CFG/portforwardings.json" '{"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"},
  {"proto": "udp", "port": "5353", "dest_addr": "10.10.0.23", "dest_port": "53"},
  {"proto": "tcp", "port": "6000-6002", "dest_addr": "10.10.0.23", "dest_port": "6000-6002"},
  {"port": "8045", "dest_addr": "10.10.0.23", "dest_port": "8045"},
  {"port": "8040-8060", "dest_addr": "10.10.0.50", "dest_port": "8040-8060"}]}'
  status "$kind: apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
  contains "$kind: the overlap is a warning naming both entries" "$(cat "$WORK/err")" \
    'forwardings[4].port: "8040-8060" (tcp) is partly shadowed: 1 of its 21 ports go to earlier entries (forwardings[3] "8045" first)'
}

# Traffic needs the LAN ports forwarding and the uplink up.
ready() {
  ip -n "$R" -o link show dev uplink0 | grep -q 'state UP' || return 1
  if [ "$1" = bridge ]; then
    [ "$(bridge -n "$R" link show | grep -c 'master lan0 state forwarding')" = 2 ]
  else
    [ "$(bridge -n "$S" link show | grep -c 'master sw state forwarding')" = 3 ]
  fi
}

traffic() {
  local kind=$1
  topology "$kind"
  wait_until 10000 ready "$kind" || echo "# $kind: links not ready after 10 s"
  serve_tcp "$A" 80
  serve_tcp "$A" 6001
  serve_udp "$A" 53
  serve_tcp "$W" 9000
  serve_tcp "$A" 8045 A
  serve_tcp "$B" 8040 B
  serve_tcp "$B" 8046 B
  # A datagram that arrives before its server is bound is refused, not queued.
  for server in "$A tcp 80" "$A tcp 6001" "$A udp 53" "$W tcp 9000" "$A tcp 8045" "$B tcp 8040" "$B tcp 8046"; do
    # shellcheck disable=SC2086
    wait_until 10000 listening $server || echo "# not yet listening after 10 s: $server"
  done

  equals "$kind: wan -> uplink:8080 (tcp) reaches host A on port 80, seeing wan's address" \
    "$(ask_tcp "$W" 203.0.113.62:8080)" "203.0.113.1"
  equals "$kind: wan -> uplink:6001 (tcp range) reaches host A on port 6001" \
    "$(ask_tcp "$W" 203.0.113.62:6001)" "203.0.113.1"
  equals "$kind: wan -> uplink:5353 (udp) reaches host A on port 53" \
    "$(ask_udp "$W" 203.0.113.62:5353)" "203.0.113.1"
  equals "$kind: wan -> uplink:8045 reaches the exception's host (A)" \
    "$(ask_tcp "$W" 203.0.113.62:8045)" "A"
  equals "$kind: wan -> uplink:8046 reaches the range's host (B)" \
    "$(ask_tcp "$W" 203.0.113.62:8046)" "B"
  equals "$kind: wan -> uplink:8040 reaches the range's host (B)" \
    "$(ask_tcp "$W" 203.0.113.62:8040)" "B"
  equals "$kind: host A -> wan arrives from the uplink address (masquerade)" \
    "$(ask_tcp "$A" 203.0.113.1:9000)" "203.0.113.62"
  equals "$kind: host B -> uplink:8080 reaches host A from lan0's address (hairpin NAT)" \
    "$(ask_tcp "$B" 203.0.113.62:8080)" "10.10.0.1"
  check "$kind: wan -> uplink:8081 (not forwarded) does not reach host A" \
    test "$(ask_tcp "$W" 203.0.113.62:8081 | grep -c 203.0.113.1)" = 0
  local fwded
  fwded=$(ip netns exec "$R" nft list counter ip filter fwded | sed -nE 's/.*packets ([0-9]+).*/\1/p')
  check "$kind: forwarded packets were counted (fwded = $fwded)" test "$fwded" -gt 0
  # Per-forwarding counters: two connections went to 8080 (wan's, and B's hairpin).
  counted() {  # counted PORT WHAT: show's count of WHAT (connections, packets, bytes)
    nk "$R" show | sed -nE "s/^forward tcp $1 -> .* $2 ([0-9]+).*$/\1/p"
  }
  connections() { counted "$1" connections; }
  equals "$kind: show counts the connections forwarded to 8080" "$(connections 8080)" 2
  equals "$kind: the exception 8045 counts its own" "$(connections 8045)" 1
  local packets; packets=$(counted 8080 packets)
  # Each connection: the request and the answer, both ways, with handshakes.
  check "$kind: and their packets in both directions ($packets)" test "$packets" -ge 10
  check "$kind: and their bytes ($(counted 8080 bytes))" test "$(counted 8080 bytes)" -gt 0
  contains "$kind: show --json carries them" "$(nk "$R" show --json)" '"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80", "connections": 2'
  sed -i '/"5353"/d' "$CFG/portforwardings.json"  # another forwarding goes
  status "$kind: apply without the udp forwarding" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
  equals "$kind: 8080's counters survive a change to another forwarding and a new process" \
    "$(connections 8080) $(counted 8080 packets)" "2 $packets"
  for job in $(jobs -p); do kill "$job" 2>/dev/null; done
  wait 2>/dev/null
}

traffic bridge
equals "bridge: br_netfilter's iptables hook was on in the router" \
  "$(ip netns exec "$R" sysctl -n net.bridge.bridge-nf-call-iptables)" 1
traffic nic
finish
