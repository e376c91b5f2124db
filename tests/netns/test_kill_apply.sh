#!/usr/bin/env bash
# kill -9 of `apply` at random moments (hardening issue): every nftables
# change is one transaction, so after each kill the forwardings are exactly
# the old config's or exactly the new one's, never a mix; another program's
# table is untouched; the next apply converges and a plan after it has
# nothing to do. Each round switches between two configs of 3,000
# forwardings that share none, and kills at a random moment within the
# time a whole apply takes.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
# make N BASE: N forwardings from port BASE, as a config and as the lines
# `forwardings` prints, sorted
make() {
  python3 - "$@" <<'PY'
import json, sys
n, base, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
f = [{"port": str(base + i), "dest_addr": "10.10.0.%d" % (2 + i % 250), "dest_port": str(base + i)}
     for i in range(n)]
json.dump({"forwardings": f}, open(out + ".json", "w"))
open(out + ".want", "w").write("".join(sorted("tcp %d -> 10.10.0.%d:%d\n" % (base + i, 2 + i % 250, base + i)
                                              for i in range(n))))
PY
}
make 3000 10000 "$WORK/a"
make 3000 20000 "$WORK/b"
: >"$WORK/none.want"
ip netns exec "$R" nft -f - <<'NFT'
table ip foreign {
  chain pre {
    type nat hook prerouting priority -50;
    tcp dport 10001 dnat to 10.10.0.99
  }
}
NFT
foreign() { ip netns exec "$R" nft -n list table ip foreign; }
foreign_before=$(foreign)
now() { forwardings "$R" | sort; }

cp "$WORK/a.json" "$CFG/portforwardings.json"
t0=$(now_ms)
status "apply config A" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
cp "$WORK/b.json" "$CFG/portforwardings.json"
t1=$(now_ms)
status "apply config B" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
span=$(( $(now_ms) - t1 ))
[ "$span" -ge 20 ] || span=20
echo "# a whole apply of the switch takes ${span} ms (the cold one $((t1 - t0)) ms)"

mixed=0 old=0 new=0
cur=b
for round in $(seq 1 16); do
  next=$([ "$cur" = a ] && echo b || echo a)
  cp "$WORK/$next.json" "$CFG/portforwardings.json"
  delay=$(( RANDOM % (span * 12 / 10 + 1) ))
  ip netns exec "$R" "$NETKEEP" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  got=$(now)
  # The kills aim at the span of an apply, which on a loaded machine is
  # not the one measured above: too early widens it, too late narrows it.
  if [ "$got" = "$(cat "$WORK/$cur.want")" ]; then
    old=$((old + 1)) span=$((span * 3 / 2))
  elif [ "$got" = "$(cat "$WORK/$next.want")" ]; then
    old=$old new=$((new + 1)) cur=$next span=$((span * 2 / 3 > 20 ? span * 2 / 3 : 20))
  else
    mixed=$((mixed + 1))
    echo "# round $round (killed after $delay ms): $(echo "$got" | grep -c .) forwardings, neither config's"
    cur=$next  # converge below decides
  fi
  if [ "$(foreign)" != "$foreign_before" ]; then
    fail "round $round: the foreign table changed"
  fi
done
echo "# 16 kills: $old left the old forwardings, $new the new ones, $mixed a mix"
equals "every kill left the old or the new forwardings whole" "$mixed" 0
check "some kills landed before the commit and some after ($old old, $new new)" \
  test "$old" -gt 0 -a "$new" -gt 0
equals "another program's table is untouched" "$(foreign)" "$foreign_before"
status "the next apply converges" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
equals "to the config's forwardings" "$(now)" "$(cat "$WORK/$next.want")"
status "a plan after it has nothing to do (exit 0)" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
