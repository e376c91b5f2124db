#!/usr/bin/env bash
# netkeep's ruleset as nft text (issue 26), with every kind of object
# netkeep makes (forwardings of every shape, their counters, LAN
# protection's sets, vmap and chains):
# - the operator's backup and restore, `nft list ruleset > saved; nft -f
#   saved`, loads it back, and netkeep finds nothing to change in it;
# - `netkeep plan --nft` is a script that `nft -c -f` accepts and that
#   `nft -f` turns into what apply would have made, from nothing and for
#   a change of each kind (elements added, removed and changed, rules
#   replaced by handle, protection's sets and chains).
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

# plan --nft from nothing: the script makes netkeep's whole ruleset.
R3=$(new_ns script)
P3=$(new_ns scriptpeer)
veth "$R3" eth3 02:00:00:00:00:01 "$P3"
veth "$R3" eth4 02:00:00:00:00:02 "$P3"
status "plan --nft" 2 nk "$R3" plan --nft --config "$CFG" --root "$ROOT2"
cp "$WORK/out" "$WORK/script.nft"
contains "it is an nft script" "$(head -1 "$WORK/script.nft")" "#!/usr/sbin/nft -f"
lacks "with nothing but nftables in it" "$(cat "$WORK/script.nft")" "sysctl"
status "nft -c -f accepts it" 0 ip netns exec "$R3" nft -c -f "$WORK/script.nft"
status "nft -f loads it" 0 ip netns exec "$R3" nft -f "$WORK/script.nft"
status "plan after it" 2 nk "$R3" plan --config "$CFG" --root "$ROOT2"
lacks "has no nftables op" "$(cat "$WORK/out")" "nft"
equals "nor a forwarding, pinhole or open port" \
  "$(grep -cE '^[-+~] (forward|pinhole|open) ' "$WORK/out")" 0
equals "the ruleset is the one apply made (its view stamp aside)" "$(ruleset "$R3")" \
  "$(ruleset "$R")"

# plan --nft for a change of each kind, in the namespace apply made: a
# forwarding added, one gone, one to another host, lan0's prefix (its
# rules replaced by handle), a pinhole added and one gone, a port opened.
cat >"$CFG/portforwardings.json" <<'EOF'
{"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.24", "dest_port": "80"},
  {"proto": "tcp", "port": "6000-6010", "dest_addr": "10.10.0.99", "dest_port": "6000-6010"},
  {"proto": "udp", "port": "5000-5009", "dest_addr": "10.10.0.7", "dest_port": "5000-5009"},
  {"proto": "udp", "port": "5000-5010", "dest_addr": "10.10.0.8", "dest_port": "5000-5010"},
  {"proto": "tcp,udp", "port": "53", "dest_addr": "10.10.0.99", "dest_port": "53"},
  {"proto": "udp", "port": "9000", "dest_addr": "10.10.0.9", "dest_port": "9"}
]}
EOF
cat >"$CFG/firewall.json" <<'EOF'
{"protect_lan": true, "protect_router": true,
 "open": [{"proto": "tcp", "port": "22"}, {"proto": "tcp", "port": "2222"},
          {"proto": "udp", "port": "60000-60002"}],
 "pinholes": [
   {"proto": "tcp", "port": "443", "dest_iid": "::23"},
   {"proto": "tcp,udp", "port": "60000-60003", "dest_addr": "2001:db8:5::7"},
   {"proto": "tcp", "port": "22", "dest_iid": "::23", "from": "2001:db8:99::/48"},
   {"proto": "udp", "port": "5060", "dest_addr": "203.0.113.78"}]}
EOF
sed -i 's|10.10.0.1/24|10.10.0.1/25|' "$CFG/interfaces.json"
status "plan --nft of the change" 2 nk "$R" plan --nft --config "$CFG" --root "$ROOT"
cp "$WORK/out" "$WORK/change.nft"
for want in "delete element ip nat netkeep-portforwardings-tcp-ranges-to-port { 7000-7005 }" \
  "add element ip nat netkeep-portforwardings-udp { 9000 : 10.10.0.9 . 9 }" \
  "add element ip nat netkeep-portforwardings-tcp { 8080 : 10.10.0.24 . 80 }" \
  "delete rule ip nat router7-portforwardings handle" \
  "add element ip netkeep pinholes { 203.0.113.78 . udp . 5060 }" \
  "delete element ip netkeep pinholes { 203.0.113.77 . udp . 5060 }" \
  "add element ip6 netkeep open { tcp . 2222 }"; do
  contains "the script has: $want" "$(cat "$WORK/change.nft")" "$want"
done
status "nft -c -f accepts it" 0 ip netns exec "$R" nft -c -f "$WORK/change.nft"
status "nft -f loads it" 0 ip netns exec "$R" nft -f "$WORK/change.nft"
status "plan after it" 2 nk "$R" plan --config "$CFG" --root "$ROOT"
lacks "has no nftables op" "$(cat "$WORK/out")" "nft"
equals "nor a forwarding, pinhole or open port" \
  "$(grep -cE '^[-+~] (forward|pinhole|open) ' "$WORK/out")" 0
finish
