#!/usr/bin/env bash
# nftables must-hold 7, with real packets. Namespaces: wan (203.0.113.1),
# the router (uplink0 by DHCP lease, lan0 a bridge), and two lan hosts on
# the bridge: A 10.10.0.23 and B 10.10.0.50. Servers answer with the
# address they see the client at. Nothing leaves these namespaces.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

R=$(new_ns router); W=$(new_ns wan); A=$(new_ns hosta); B=$(new_ns hostb)
ROOT="$WORK/root"; mkdir -p "$ROOT/tmp"
pair() {  # pair ROUTER-LINK MAC HOST-NS ADDR: a veth from the router to a host
  ip -n "$R" link add name "$1" address "$2" type veth peer name h0 netns "$3"
  ip -n "$3" link set h0 up
  ip -n "$3" addr add "$4" dev h0
}
pair eth3 02:00:00:00:00:01 "$W" 203.0.113.1/25
pair eth5 02:00:00:00:00:03 "$A" 10.10.0.23/24
pair eth6 02:00:00:00:00:04 "$B" 10.10.0.50/24
ip -n "$A" route add default via 10.10.0.1
ip -n "$B" route add default via 10.10.0.1

CFG="$WORK/config"
write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"name": "lan0", "addr": "10.10.0.1/24"}],
 "bridges": [{"name": "lan0", "interface_hardware_addrs": ["02:00:00:00:00:03", "02:00:00:00:00:04"]}]}'
write "$CFG/dhcp4/wire/lease.json" '{"client_ip": "203.0.113.62", "subnet_mask": "255.255.255.128", "router": "203.0.113.1"}'
write "$CFG/portforwardings.json" '{"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"},
  {"proto": "udp", "port": "5353", "dest_addr": "10.10.0.23", "dest_port": "53"},
  {"proto": "tcp", "port": "6000-6002", "dest_addr": "10.10.0.23", "dest_port": "6000-6002"}]}'
status "apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
# Traffic needs both bridge ports forwarding and the uplink up.
ready() {
  [ "$(bridge -n "$R" link show | grep -c 'master lan0 state forwarding')" = 2 ] &&
    ip -n "$R" -o link show dev uplink0 | grep -q 'state UP'
}
wait_until 10000 ready || echo "# links not ready after 10 s: $(bridge -n "$R" link show)"

# serve_tcp NS PORT, serve_udp NS PORT: answer each connection or datagram
# with the peer's address. The answer waits for the request to be read:
# were the shell gone first, socat's write of the request would fail with
# EPIPE and no answer would be sent.
ANSWER='read -r _; echo $SOCAT_PEERADDR'
serve_tcp() {
  ip netns exec "$1" timeout 60 socat TCP-LISTEN:"$2",reuseaddr,fork SYSTEM:"$ANSWER" &
}
serve_udp() {
  ip netns exec "$1" timeout 60 socat UDP-RECVFROM:"$2",fork SYSTEM:"$ANSWER" &
}
serve_tcp "$A" 80
serve_tcp "$A" 6001
serve_udp "$A" 53
serve_tcp "$W" 9000
# A datagram that arrives before its server is bound is refused, not queued.
for server in "$A tcp 80" "$A tcp 6001" "$A udp 53" "$W tcp 9000"; do
  # shellcheck disable=SC2086
  wait_until 10000 listening $server || echo "# not yet listening after 10 s: $server"
done
ask_tcp() { ip netns exec "$1" timeout 5 socat -t 2 - TCP:"$2" </dev/null 2>&1; }
ask_udp() { echo ping | ip netns exec "$1" timeout 5 socat -t 2 - UDP:"$2" 2>&1; }

equals "wan -> uplink:8080 (tcp) reaches host A on port 80, seeing wan's address" \
  "$(ask_tcp "$W" 203.0.113.62:8080)" "203.0.113.1"
equals "wan -> uplink:6001 (tcp range) reaches host A on port 6001" \
  "$(ask_tcp "$W" 203.0.113.62:6001)" "203.0.113.1"
equals "wan -> uplink:5353 (udp) reaches host A on port 53" \
  "$(ask_udp "$W" 203.0.113.62:5353)" "203.0.113.1"
equals "host A -> wan arrives from the uplink address (masquerade)" \
  "$(ask_tcp "$A" 203.0.113.1:9000)" "203.0.113.62"
equals "host B -> uplink:8080 reaches host A from lan0's address (hairpin NAT)" \
  "$(ask_tcp "$B" 203.0.113.62:8080)" "10.10.0.1"
check "wan -> uplink:8081 (not forwarded) does not reach host A" \
  test "$(ask_tcp "$W" 203.0.113.62:8081 | grep -c 203.0.113.1)" = 0
fwded=$(ip netns exec "$R" nft list counter ip filter fwded | sed -nE 's/.*packets ([0-9]+).*/\1/p')
check "forwarded packets were counted (fwded = $fwded)" test "$fwded" -gt 0
finish
