#!/usr/bin/env bash
# nftables must-hold 5: other programs' tables, chains, sets and rules —
# docker-like chains in ip nat, tailscale-like chains in ip filter, a
# netavark-like inet table — stay byte-identical through netkeep's first
# apply, +1, a changed destination, -1, the removal of portforwardings.json,
# and the conversion of router7's rule-per-forwarding chain.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
FOREIGN=$(cat <<'NFT'
table ip nat {
	chain DOCKER {
		iifname "docker0" return
	}
	chain PREROUTING {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local counter jump DOCKER
	}
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		oifname != "docker0" ip saddr 172.17.0.0/16 counter masquerade
	}
}
table ip filter {
	chain ts-input {
		iifname "tailscale0" counter accept
		ip saddr 100.64.0.0/10 iifname != "tailscale0" counter drop
	}
	chain ts-forward {
		oifname "tailscale0" counter accept
	}
	chain INPUT {
		type filter hook input priority filter; policy accept;
		counter jump ts-input
	}
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		counter jump ts-forward
	}
}
table inet netavark {
	set nv_subnets {
		type ipv4_addr
		flags interval
		elements = { 10.88.0.0/16 }
	}
	chain nv-dnat {
		ip daddr 192.0.2.10 tcp dport 8080 dnat ip to 10.88.0.2:80
	}
	chain PREROUTING {
		type nat hook prerouting priority dstnat; policy accept;
		ip saddr @nv_subnets jump nv-dnat
	}
}
NFT
)
ip netns exec "$R" nft -f - <<<"$FOREIGN"
foreign() {
  local x
  for x in "ip nat DOCKER" "ip nat PREROUTING" "ip nat POSTROUTING" "ip filter ts-input" \
           "ip filter ts-forward" "ip filter INPUT" "ip filter FORWARD" "inet netavark nv-dnat" \
           "inet netavark PREROUTING"; do
    echo "== chain $x"
    ip netns exec "$R" nft -a -n list chain $x | sed -E 's/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/'
  done
  echo "== set"
  ip netns exec "$R" nft -a -n list set inet netavark nv_subnets
}
f0=$(foreign)
check "the foreign objects are there" test "$(grep -c '^== ' <<<"$f0")" -eq 10

status "first apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after the first apply every foreign object is identical" "$(foreign)" "$f0"
contains "netkeep's chain is there too" "$(ip netns exec "$R" nft list chain ip nat router7-portforwardings)" "dnat ip to tcp dport map @netkeep-portforwardings-tcp"
contains "with the forwarding in its map" "$(ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp)" "8080 counter"

sed -i 's/"port": "8080"/"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}, {"port": "9090"/' \
  "$CFG/portforwardings.json"
status "+1 forwarding" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after +1 every foreign object is identical" "$(foreign)" "$f0"
contains "and the forwarding is there" "$(forwardings "$R")" "tcp 9090 -> "
sed -i 's/"10.10.0.23"/"10.10.0.24"/g' "$CFG/portforwardings.json"
status "changed destinations" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after the change every foreign object is identical" "$(foreign)" "$f0"
contains "and the destination moved" "$(forwardings "$R")" "tcp 8080 -> 10.10.0.24:80"

write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8081", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
status "apply after updating a forwarding" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after the update every foreign object is identical" "$(foreign)" "$f0"
contains "the forwarding changed" "$(ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp)" "8081 counter"

rm "$CFG/portforwardings.json"
status "apply without portforwardings.json" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after the removal every foreign object is identical" "$(foreign)" "$f0"
lacks "the forwarding map is empty" "$(ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp)" "counter packets"
contains "and still exists for the jump" "$(ip netns exec "$R" nft list chain ip nat prerouting)" "jump router7-portforwardings"
check "the tables are all still there (netkeep's own ip netkeep among them)" \
  test "$(ip netns exec "$R" nft list tables | wc -l)" -eq 5

# The conversion of router7's chain, beside the same foreign objects.
R=$(new_ns migrate)
P=$(new_ns migratepeer)
veth "$R" eth3 02:00:00:00:00:01 "$P"
veth "$R" eth4 02:00:00:00:00:02 "$P"
ip netns exec "$R" nft -f - <<<"$FOREIGN"
ip netns exec "$R" nft -f "$TESTDATA/nft/spec.nft"
m0=$(foreign)
CFG=$(config_from fresh-system)
status "converting router7's chain" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "after the conversion every foreign object is identical" "$(foreign)" "$m0"
contains "and the forwardings are in the maps" "$(forwardings "$R")" "tcp 6000-6010 -> 10.10.0.99:6000-6010"
finish
