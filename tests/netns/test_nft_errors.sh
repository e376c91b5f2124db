#!/usr/bin/env bash
# nftables must-holds 8 and 10: a bad portforwardings.json leaves the
# forwarding chain exactly as it was while the other files reconcile; the
# kernel rejecting the batch leaves the ruleset unchanged and names the op.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
GOOD=$(cat "$CFG/portforwardings.json")
status "converge" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
chain() { ip netns exec "$R" nft -a -n list chain ip nat router7-portforwardings; }
c0=$(chain)

N=0
bad() {  # bad CONTENT EXPECTED-MESSAGE
  N=$((N + 1))
  if [ -z "$1" ]; then : >"$CFG/portforwardings.json"; else write "$CFG/portforwardings.json" "$1"; fi
  # A good change elsewhere that must still apply.
  write "$CFG/dhcp6/wire/lease.json" "{\"prefixes\": [{\"IP\": \"2001:db8:$N::\", \"Mask\": \"////////AAAAAAAAAAAAAA==\"}]}"
  status "bad portforwardings.json [$2]: apply exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
  contains "the error names file, path and value" "$(cat "$WORK/err")" "$2"
  equals "the forwarding chain is exactly as it was" "$(chain)" "$c0"
  contains "the DHCPv6 lease still applied" "$(ip -n "$R" -6 addr show dev lan0)" "2001:db8:$N::1/64"
}
F='{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}, '
bad "$F"'{"port": "0", "dest_addr": "10.10.0.23", "dest_port": "80"}]}' 'portforwardings.json: forwardings[1].port: "0" is not a port (1-65535)'
bad "$F"'{"port": "70000", "dest_addr": "10.10.0.23", "dest_port": "80"}]}' 'portforwardings.json: forwardings[1].port: "70000" is not a port (1-65535)'
bad "$F"'{"port": "9000-8000", "dest_addr": "10.10.0.23", "dest_port": "80"}]}' 'forwardings[1].port: "9000-8000" is a reversed range'
bad "$F"'{"port": "eighty", "dest_addr": "10.10.0.23", "dest_port": "80"}]}' 'forwardings[1].port: "eighty" is not a port'
bad "$F"'{"port": "100-110", "dest_addr": "10.10.0.23", "dest_port": "200-205"}]}' 'forwardings[1].dest_port: "200-205" spans 6 ports but port "100-110" spans 11'
bad "$F"'{"port": "100-110", "dest_addr": "10.10.0.23", "dest_port": "200-210"}]}' 'forwardings[1].dest_port: "200-210" must equal port "100-110"'
bad "$F"'{"proto": "icmp", "port": "100", "dest_addr": "10.10.0.23", "dest_port": "100"}]}' 'forwardings[1].proto: "icmp" is not tcp, udp or a comma list of them'
bad "$F"'{"port": "100", "dest_addr": "fd00::1", "dest_port": "100"}]}' 'forwardings[1].dest_addr: "fd00::1" is not an IPv4 address'
bad "$F"'{"port": 100, "dest_addr": "10.10.0.23", "dest_port": "100"}]}' 'forwardings[1].port: 100 is a number, expected a string'
bad '{"forwardings": [' 'portforwardings.json: invalid JSON'
bad '' 'portforwardings.json: file is empty'
bad "$F"'{"port": "8080", "dest_addr": "10.10.0.24", "dest_port": "80"}]}' 'portforwardings.json: forwardings[1].port: "8080" (tcp) is also forwardings[0].port, with another destination (10.10.0.23:80, not 10.10.0.24:80)'

write "$CFG/portforwardings.json" "$GOOD"
status "the good file converges again" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

# The kernel rejects the batch: a regular chain named like an owned base
# chain, referenced by another program's rule, cannot be replaced.
R2=$(new_ns reject)
P2=$(new_ns rejectpeer)
veth "$R2" eth3 02:00:00:00:00:01 "$P2"
veth "$R2" eth4 02:00:00:00:00:02 "$P2"
ip netns exec "$R2" nft -f - <<'NFT'
table ip filter {
	chain input {
		counter
	}
	chain INPUT {
		type filter hook input priority 0; policy accept;
		jump input
	}
}
NFT
before=$(ip netns exec "$R2" nft -a -n list ruleset)
status "apply exits 1" 1 nk "$R2" apply --config "$CFG" --root "$ROOT"
contains "the error names the rejected op and the kernel's reason" "$(cat "$WORK/err")" "error: - nft ip filter chain input  (wrong type, hook or priority): Device or resource busy"
contains "the other nftables ops are reported as not applied" "$(cat "$WORK/err")" "not applied: the nftables transaction was rejected"
equals "the ruleset is unchanged: the batch applied not at all" "$(ip netns exec "$R2" nft -a -n list ruleset)" "$before"
contains "links and addresses still applied" "$(ip -n "$R2" -o addr show dev lan0)" "10.10.0.1/24"
status "plan --check reports the same rejection" 1 nk "$R2" plan --check --config "$CFG" --root "$ROOT"
contains "naming the op" "$(cat "$WORK/err")" "the kernel would reject - nft ip filter chain input"
finish
