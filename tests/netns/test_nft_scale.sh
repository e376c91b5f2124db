#!/usr/bin/env bash
# Scale on a stock kernel: 10,000 forwardings apply with the kernel's
# default socket buffer settings (netkeep sizes its own buffers), and adding
# one more sends its map element and count set element in one batch: 4
# nftables messages.
source "$(dirname "$0")/lib.sh"

R=$(new_ns router)
CFG="$WORK/config"; ROOT="$WORK/root"; mkdir -p "$CFG" "$ROOT/tmp"
gen() {  # gen N [EXTRA-PORT]
  {
    printf '{"forwardings": ['
    for ((i = 0; i < $1; i++)); do
      [ $i -gt 0 ] && printf ','
      printf '{"port": "%d", "dest_addr": "10.10.0.%d", "dest_port": "%d"}' $((1000 + i)) $((2 + i % 250)) $((1000 + i))
      if [ -n "${2:-}" ] && [ $i -eq 4999 ]; then
        printf ',{"port": "%d", "dest_addr": "10.10.0.9", "dest_port": "%d"}' "$2" "$2"
      fi
    done
    printf ']}\n'
  } >"$CFG/portforwardings.json"
}
gen 10000
status "cold apply of 10,000 forwardings" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
elements() { ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp | grep -o 'counter packets' | wc -l; }
equals "all 10,000 forwardings are in the kernel" "$(elements)" 10000
status "plan right after exits 0" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
# Made with 10,000 elements, the tcp hash map and count set are fixed-size
# kernel hash tables; the udp ones, made empty, stay resizable.
equals "the hash sets made in a burst declare room for every port" \
  "$(ip netns exec "$R" nft list ruleset | grep -B2 'size 65535' | grep -oE '(map|set) [a-z-]+' | tr '\n' ' ')" \
  "map netkeep-portforwardings-tcp set forwarded-tcp "
gen 10000 60000
status "adding one forwarding" 0 nk "$R" apply --json --config "$CFG" --root "$ROOT"
contains "sends 6 nftables messages: batch begin, the map's element, the count set's, the view's stamp (2), batch end" \
  "$(cat "$WORK/out")" '"write_requests": 6'
equals "10,001 forwardings" "$(elements)" 10001
contains "the new one among them" "$(ip netns exec "$R" nft list map ip nat netkeep-portforwardings-tcp)" "60000 counter"
finish
