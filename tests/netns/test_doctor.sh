#!/usr/bin/env bash
# netkeep doctor (issue 16): on a clean (and protected) router it finds
# nothing (exit 0); a pinhole whose host does not answer neighbour
# discovery and a docker-proxy port LAN protection closes are warnings
# (issue 25);
# with a docker-like, a firewalld-like and a tailscale-like foreign ruleset
# it reports the finding each causes, with the exit status of its
# severity; it never writes (the ruleset and routes are unchanged by it).
source "$(dirname "$0")/lib.sh"
for tool in python3 socat; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/deps installs it)"; exit 77; }
done

router_setup
CFG=$(config_from fresh-system)   # forwards tcp 8080, tcp 53, udp 53, tcp 6000-6010
# A lease in force, as a running DHCP client keeps it (the recorded one's
# valid_until is long past: the doctor would say so).
lease4() {  # lease4 VALID_UNTIL
  write "$CFG/dhcp4/wire/lease.json" "{\"valid_until\": \"$1\", \"client_ip\": \"203.0.113.62\",
    \"subnet_mask\": \"255.255.255.128\", \"router\": \"203.0.113.1\", \"dns\": [\"192.0.2.53\"]}"
}
lease4 "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"
nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1 || { echo "apply failed"; exit 1; }
doctor() { nk "$R" doctor --config "$CFG" --root "$ROOT" "$@"; }
snapshot() { { ruleset "$R"; ip -n "$R" route; ip netns exec "$R" sysctl -n net.ipv4.ip_forward; }; }
firewall() {  # firewall JSON: firewall.json, applied
  write "$CFG/firewall.json" "$1"
  nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1 || { echo "apply failed"; exit 1; }
}

# The delegated prefix on lan0, nothing protecting it: a warning (issue 25).
status "an unprotected LAN: a warning (exit 2)" 2 doctor
contains "it names the prefix and what is missing" "$(cat "$WORK/out")" \
  "warning: lan0 is on the global prefix 2001:db8:4a00::/64: every LAN host's IPv6 address on it is reachable from the internet, and there is no firewall.json"
firewall '{"protect_lan": true, "protect_router": true}'

status "a clean router: nothing found" 0 doctor
contains "and it says so" "$(cat "$WORK/out")" "netkeep doctor: nothing found"
status "--json" 0 doctor --json
equals "an empty list" "$(cat "$WORK/out")" '{"findings": []}'

# A pinhole to a host that is not there: once the router has asked for it
# (neighbour discovery unanswered), the doctor says the pinhole reaches nobody.
firewall '{"pinholes": [{"proto": "tcp", "port": "443", "dest_iid": "::23"}]}'
status "a pinhole whose host was never asked for: nothing found" 0 doctor
ip netns exec "$R" python3 -c "import socket
socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(b'x', ('2001:db8:4a00::23', 9))"
status "its host does not answer neighbour discovery: a warning (exit 2)" 2 doctor
contains "naming the pinhole and the host" "$(cat "$WORK/out")" \
  "warning: firewall.json: pinholes[0] (tcp 443 -> ::23): 2001:db8:4a00::23 does not answer neighbour discovery on lan0"

# docker publishing a port through its userland proxy, which listens on
# the router's every IPv6 address: protect_router closes it to the WAN.
cp "$(command -v socat)" "$WORK/docker-proxy"
ip netns exec "$R" "$WORK/docker-proxy" TCP6-LISTEN:8080,ipv6only=1,reuseaddr,fork /dev/null &
PROXY=$!
wait_until 5000 listening "$R" tcp 8080
firewall '{"protect_lan": true, "protect_router": true}'
status "docker-proxy on a closed port: a warning (exit 2)" 2 doctor
contains "naming the port, the family and the program" "$(cat "$WORK/out")" \
  "warning: firewall.json's protect_router closes tcp 8080 (IPv6) to the internet, where docker-proxy listens for a port docker publishes"
firewall '{"protect_lan": true, "protect_router": true, "open": [{"proto": "tcp", "port": "8080"}]}'
status "the port opened in firewall.json: nothing found" 0 doctor
kill "$PROXY"; wait "$PROXY" 2>/dev/null
firewall '{"protect_lan": true, "protect_router": true}'

# docker: FORWARD policy drop in ip filter, a DNAT of tcp 8080 in ip nat.
ip netns exec "$R" nft -f - <<'NFT'
table ip filter {
  chain DOCKER-USER { return; }
  chain FORWARD { type filter hook forward priority 0; policy drop; jump DOCKER-USER; oifname "docker0" ct state related,established accept; }
}
table ip nat {
  chain DOCKER { iifname != "docker0" tcp dport 8080 dnat to 172.17.0.2:80; }
  chain PREROUTING { type nat hook prerouting priority -100; policy accept; fib daddr type local jump DOCKER; }
}
NFT
before=$(snapshot)
status "docker-like: errors (exit 1)" 1 doctor
out=$(cat "$WORK/out")
contains "docker-like: the forward policy drop" "$out" "error: ip filter chain FORWARD: policy drop on the forward hook (priority 0)"
contains "docker-like: the DNAT of a port netkeep forwards, which runs first" "$out" \
  "error: ip nat chain PREROUTING tcp 8080: netkeep forwards it to 10.10.0.23:80, and DNATs it too, first (priority -100 before netkeep's 0)"
contains "docker-like: each says what to do" "$out" "fix: accept them there"
status "docker-like: --json" 1 doctor --json
contains "docker-like: --json carries the severity" "$(cat "$WORK/out")" '"severity": "error"'
equals "docker-like: the doctor wrote nothing" "$(snapshot)" "$before"
ip netns exec "$R" nft -f - <<'NFT'
delete chain ip filter FORWARD
delete chain ip filter DOCKER-USER
delete chain ip nat PREROUTING
delete chain ip nat DOCKER
NFT

# firewalld: its own inet table; a redirect of udp 53 at dstnat + 10.
ip netns exec "$R" nft -f - <<'NFT'
table inet firewalld {
  chain nat_PRE_public { meta l4proto udp udp dport 53 redirect to :5353; }
  chain nat_PREROUTING { type nat hook prerouting priority dstnat + 10; policy accept; jump nat_PRE_public; }
  chain filter_FORWARD { type filter hook forward priority filter + 10; policy accept; ct state invalid drop; }
  chain filter_INPUT { type filter hook input priority filter + 10; policy accept; ct state established,related accept; }
}
NFT
status "firewalld-like: an error (exit 1)" 1 doctor
out=$(cat "$WORK/out")
contains "firewalld-like: the redirect of udp 53, before netkeep" "$out" \
  "error: inet firewalld chain nat_PREROUTING udp 53: netkeep forwards it to 10.10.0.99:53, and redirects it too, first (priority -90 before netkeep's 0)"
lacks "firewalld-like: not tcp 53 (another protocol)" "$out" "tcp 53:"
lacks "firewalld-like: its accepting forward and input chains are no finding" "$out" "filter_FORWARD"
ip netns exec "$R" nft delete table inet firewalld

# tailscale: chains jumped to from ip filter base chains that accept, a
# default route of its own, and rp_filter strict (which it warns about).
ip -n "$R" link add tailscale0 type veth peer name ts-peer
ip -n "$R" link set tailscale0 up
ip -n "$R" route add default dev tailscale0 metric 500
ip netns exec "$R" sysctl -qw net.ipv4.conf.all.rp_filter=1
ip netns exec "$R" nft -f - <<'NFT'
table ip filter {
  chain ts-input { iifname != "tailscale0" ip saddr 100.64.0.0/10 drop; }
  chain ts-forward { oifname "tailscale0" accept; }
  chain INPUT { type filter hook input priority 0; policy accept; jump ts-input; }
  chain FORWARD { type filter hook forward priority 0; policy accept; jump ts-forward; }
}
NFT
status "tailscale-like: a warning (exit 2)" 2 doctor
out=$(cat "$WORK/out")
contains "tailscale-like: rp_filter strict with asymmetric routes" "$out" \
  "warning: rp_filter is strict on uplink0 (all 1, uplink0 0) and routes are asymmetric (2 IPv4 default routes, one via tailscale0)"
lacks "tailscale-like: its accepting base chains are no finding" "$out" "chain FORWARD"
ip netns exec "$R" sysctl -qw net.ipv4.conf.all.rp_filter=0

# Someone turns forwarding off.
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=0
status "forwarding turned off: a warning (exit 2)" 2 doctor
contains "saying who set what" "$(cat "$WORK/out")" "warning: net.ipv4.ip_forward is 0; netkeep sets 1: someone changed it back"
equals "the doctor did not repair it" "$(ip netns exec "$R" sysctl -n net.ipv4.ip_forward)" 0

# A lease past its time, which no client renewed or ended: said, not acted on.
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
lease4 "$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)"
status "a lease past its time: a warning (exit 2)" 2 doctor
contains "naming the lease and when it ended" "$(cat "$WORK/out")" \
  "warning: dhcp4/wire/lease.json: the lease of 203.0.113.62 was valid until"
contains "the address stays (the client is the authority)" "$(ip -n "$R" -4 -o addr show dev uplink0)" "203.0.113.62/25"
# No lease file at all while uplink0 has no address.
rm "$CFG/dhcp4/wire/lease.json"
ip -n "$R" addr flush dev uplink0
status "no lease and no address on uplink0: a warning (exit 2)" 2 doctor
contains "saying no DHCP client hands netkeep a lease" "$(cat "$WORK/out")" \
  "uplink0 has no IPv4 address and there is no dhcp4/wire/lease.json"

finish
