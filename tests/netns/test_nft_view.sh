#!/usr/bin/env bash
# The nftables view (backends/nft_view.hpp): `apply` keeps the owned rules
# it last saw or wrote, tagged with the ruleset generation, boot and network
# namespace, and dumps them again only when the generation moved. Checked
# here: what it saves requests, that the handles it learns from its own
# commits are right, and that it is never believed when it should not be.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
VIEW="$ROOT/run/netkeep/nft-view"
fw() {  # fw PORT...: portforwardings.json with one tcp forwarding per port
  local items="" p
  for p in "$@"; do items+="${items:+,}{\"port\": \"$p\", \"dest_addr\": \"10.10.0.$((p % 200 + 2))\", \"dest_port\": \"$p\"}"; done
  write "$CFG/portforwardings.json" "{\"forwardings\": [$items]}"
}
# apply_json NS: `apply --json --stats`; then figure KEY reads one figure of it
apply_json() {
  nk "$1" apply --json --stats --config "$CFG" --root "$ROOT" >"$WORK/apply.json" 2>"$WORK/apply.err"
}
figure() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stats"][sys.argv[2]])' \
    "$WORK/apply.json" "$1"
}
reads() { apply_json "$R"; figure nftables_reads; }
handles() { chain_handles "$R" ip nat router7-portforwardings; }
elements() {  # elements NS: how many forwardings the tcp map holds
  ip netns exec "${1:-$R}" nft list map ip nat netkeep-portforwardings-tcp 2>/dev/null | grep -o 'counter packets' | wc -l
}
# gen NS: the nftables ruleset generation (NFT_MSG_GETGEN), read with Python
gen() {
  ip netns exec "$1" python3 -c '
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.send(struct.pack("IHHII", 20, (10 << 8) | 16, 1, 1, 0) + struct.pack("BBH", 0, 0, 0))
d = s.recv(4096)
off = 20
while off < len(d):
    l, t = struct.unpack_from("HH", d, off)
    if t == 1: print(struct.unpack_from(">I", d, off + 4)[0])
    off += (l + 3) & ~3'
}

fw 1001 1002 1003
apply_json "$R"
check "a cold apply dumps the (empty) ruleset once" test "$(figure nftables_reads)" -gt 1
check "and keeps the view of what it wrote, readable by root only" test "$(stat -c %a "$VIEW")" = 600
equals "then a converged apply reads only the generation and the view's stamp" "$(reads)" 2
equals "and writes nothing" "$(figure nftables_writes)" 0
check "--stats times each step" python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["times_ms"]
assert sorted(t) == ["config", "kernel_read", "plan", "write"] and all(v >= 0 for v in t.values())
assert t["kernel_read"] > 0, t' "$WORK/apply.json"
nk "$R" apply --stats --config "$CFG" --root "$ROOT" >/dev/null 2>"$WORK/apply.err"
contains "and says so in words without --json" "$(cat "$WORK/apply.err")" "netkeep: time: config "

fw 1001 1002 1009 1003
apply_json "$R"
equals "+1 forwarding: the generation and the stamp before, the generation after the commit" \
  "$(figure nftables_reads)" 3
equals "+1 forwarding: six messages (begin, map element, count set element, the stamp's two, end)" \
  "$(figure nftables_writes)" 6
equals "after it, the view is current: two reads" "$(reads)" 2
equals "and there is nothing to do" "$(figure nftables_writes)" 0
equals "the new element is in the map" "$(elements)" 4
# A rule's handle comes from the kernel's echo; deleting it by that handle
# must work. lan0's prefix is in one rule of the forwarding chain.
h=$(handles)
sed -i 's|10.10.0.1/24|10.10.0.1/25|' "$CFG/interfaces.json"
status "a new lan0 prefix replaces one rule" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "the rule is there" "$(handles)" "ip daddr 10.10.0.0/25 return"
equals "after it, the view is current: two reads" "$(reads)" 2
sed -i 's|10.10.0.1/25|10.10.0.1/24|' "$CFG/interfaces.json"
status "and back: the rule is deleted by the handle the view learned" 0 \
  nk "$R" apply --config "$CFG" --root "$ROOT"
lacks "the rule is gone" "$(handles)" "10.10.0.0/25"
equals "the others kept their handles" "$(handles | grep -v 10.10.0.0)" "$(grep -v 10.10.0.0 <<<"$h")"
status "plan agrees: nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# Another program's commit moves the generation: netkeep dumps again and
# repairs what was changed behind its back.
ip netns exec "$R" nft insert rule ip nat router7-portforwardings tcp dport 4444 accept
check "after a foreign commit it dumps again" test "$(reads)" -gt 1
lacks "and removed the foreign rule" "$(handles)" "dport 4444"
ip netns exec "$R" nft add table ip docker-like
ip netns exec "$R" nft add chain ip docker-like c
check "a commit elsewhere moves the generation too: dumped again" test "$(reads)" -gt 1
equals "the view is current again" "$(reads)" 2

# A transaction of more than 100 ops is not followed (its echoes could
# overflow a default receive buffer): the view is dropped, the next run
# dumps, and the one after needs no dump again.
fw $(seq 2001 2150)
nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1
equals "150 forwardings applied" "$(elements)" 150
check "after a transaction of 150 rules the next apply dumps" test "$(reads)" -gt 1
equals "and the one after reads only the generation and the stamp" "$(reads)" 2
fw 1001 1002 1003
nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1

# A view is never believed for another namespace, even under the same root
# and at the same generation.
router_setup_second
want=$(gen "$R")
while [ "$(gen "$R2")" -lt "$want" ]; do
  ip netns exec "$R2" nft add table ip bump
  [ "$(gen "$R2")" -lt "$want" ] && ip netns exec "$R2" nft delete table ip bump
done
equals "the second namespace is at the view's generation" "$(gen "$R2")" "$want"
nk "$R2" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1
equals "yet it gets the whole ruleset: the view described another namespace" \
  "$(elements "$R2")" 3

# A damaged view file is ignored, never trusted.
apply_json "$R"
head -c 1000 "$VIEW" >"$VIEW.cut" && mv "$VIEW.cut" "$VIEW"
check "a truncated view file is ignored: everything is dumped" test "$(reads)" -gt 1
equals "and the forwardings are as configured" "$(elements)" 3
# The view is an optimisation: when it cannot be written, apply warns and
# still does its work.
rm -rf "$ROOT/run" && touch "$ROOT/run"  # a file where its directory should be
fw 1001 1002 1003 1004
status "apply succeeds though the view cannot be kept" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "and says so" "$(cat "$WORK/err")" "warning: keeping the nftables view: $ROOT/run"
equals "the forwardings are as configured" "$(elements)" 4
rm -f "$ROOT/run"
finish
