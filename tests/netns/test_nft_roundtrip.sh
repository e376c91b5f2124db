#!/usr/bin/env bash
# The operator's backup and restore (issue 26): `nft list ruleset > saved;
# nft -f saved` loads netkeep's whole ruleset back, with every kind of
# object netkeep makes (forwardings of every shape, their counters, LAN
# protection's sets, vmap and chains), and netkeep finds nothing to change
# in what was loaded.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
cat >"$CFG/portforwardings.json" <<'EOF'
{"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"},
  {"proto": "tcp", "port": "6000-6010", "dest_addr": "10.10.0.99", "dest_port": "6000-6010"},
  {"proto": "tcp", "port": "7000-7005", "dest_addr": "10.10.0.5", "dest_port": "22"},
  {"proto": "udp", "port": "5000-5009", "dest_addr": "10.10.0.7", "dest_port": "5000-5009"},
  {"proto": "udp", "port": "5000-5010", "dest_addr": "10.10.0.8", "dest_port": "5000-5010"},
  {"proto": "tcp,udp", "port": "53", "dest_addr": "10.10.0.99", "dest_port": "53"}
]}
EOF
cat >"$CFG/firewall.json" <<'EOF'
{"protect_lan": true, "protect_router": true,
 "open": [{"proto": "tcp", "port": "22"}, {"proto": "udp", "port": "60000-60002"}],
 "pinholes": [
   {"proto": "tcp", "port": "443", "dest_iid": "::23"},
   {"proto": "tcp,udp", "port": "60000-60003", "dest_addr": "2001:db8:5::7"},
   {"proto": "tcp", "port": "22", "dest_iid": "::23", "from": "2001:db8:99::/48"},
   {"proto": "udp", "port": "5060", "dest_addr": "203.0.113.77"}]}
EOF
status "apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
for shape in tcp tcp-ranges tcp-ranges-to-port udp udp-ranges; do
  check "the $shape forwarding map has an element" \
    bash -c "ip netns exec $R nft list map ip nat netkeep-portforwardings-$shape | grep -q 'elements = '"
done
check "a pinhole element" bash -c "ip netns exec $R nft list set ip6 netkeep pinholes | grep -q 443"
ip netns exec "$R" nft list ruleset >"$WORK/saved.nft"

# The restore, in a namespace with the same links and nothing else.
router_setup_second
status "nft -c -f accepts the listing" 0 ip netns exec "$R2" nft -c -f "$WORK/saved.nft"
status "nft -f loads it" 0 ip netns exec "$R2" nft -f "$WORK/saved.nft"
equals "the loaded ruleset lists as the saved one" \
  "$(ip netns exec "$R2" nft list ruleset)" "$(cat "$WORK/saved.nft")"
# The restore's own namespace lacks the links' addresses and routes: the
# plan has those, and no nftables op.
ROOT2="$WORK/root2"
mkdir -p "$ROOT2/tmp"
status "plan over the restored ruleset" 2 nk "$R2" plan --config "$CFG" --root "$ROOT2"
lacks "has no nftables op" "$(cat "$WORK/out")" "nft"
equals "nor a forwarding, pinhole or open port" \
  "$(grep -cE '^[-+~] (forward|pinhole|open) ' "$WORK/out")" 0
finish
