#!/usr/bin/env bash
# The daemon watches lease directories that appear after it started, and
# retries a failed reconcile after 1 s, then 2 s, ...; a new event retries
# at once.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
rm -rf "$CFG/dhcp6"
daemon_start "$R" --config "$CFG" --root "$ROOT"
settle

# A new directory is an event the daemon reconciles on, after it has
# added its watch: that reconcile is what each step waits for.
more_reconciles() { [ "$(reconciles)" -gt "$1" ]; }
n=$(reconciles)
mkdir -p "$CFG/dhcp6"
within 2000 "a new directory dhcp6 is seen" more_reconciles "$n"
n=$(reconciles)
mkdir -p "$CFG/dhcp6/wire"
within 2000 "a new directory dhcp6/wire is seen" more_reconciles "$n"
write "$CFG/dhcp6/wire/lease.json" '{"prefixes": [{"IP": "2001:db8:77::", "Mask": "////////AAAAAAAAAAAAAA=="}]}'
within 500 "a lease in directories made after the start is applied within 500 ms" \
  bash -c "ip -n $R -6 addr show dev lan0 | grep -q 2001:db8:77::1/64"
settle

# A route the kernel refuses: its gateway is on no link.
write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24", "mtu": 1492,
   "spoof_hardware_addr": "02:00:00:00:00:aa", "extra_addrs": ["10.20.0.1/24"],
   "extra_routes": [{"destination": "10.99.0.0/16", "gateway": "192.0.2.254"}]}]}'
third_retry() { grep -q 'retrying in 4 s$' "$DAEMON_LOG"; }
within 10000 "the third retry is announced" third_retry
contains "the refused route is logged" "$(cat "$DAEMON_LOG")" "error: + route 10.99.0.0/16 via 192.0.2.254 dev lan0 proto netkeep: Network is unreachable"
# Each "retrying in N s" must be followed, N s later, by a reconcile the
# retry asked for; N doubles from 1.
pairs=$(awk '
  / retrying in [0-9]+ s$/ { t = $1; n = $(NF-1); next }
  /asked for by retry/ && t { printf "%d %d\n", n, $1 - t; t = 0 }
' "$DAEMON_LOG")
check "retries came" test -n "$pairs"
# A retry's reconcile ends some time after its timer fires: 400 ms in the
# plain build, three times that under ASan (as within allows).
late=400
sanitized && late=1200
while read -r n ms; do
  check "a retry announced in $n s came after $ms ms (at most $late ms late)" \
    test "$ms" -ge $((n * 1000 - 100)) -a "$ms" -le $((n * 1000 + late))
done <<<"$pairs"
equals "the waits double" "$(grep -o 'retrying in [0-9]* s' "$DAEMON_LOG" | awk '{print $3}' | head -3 | tr '\n' ' ')" "1 2 4 "
write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"},
  {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "addr": "10.10.0.1/24", "mtu": 1492,
   "spoof_hardware_addr": "02:00:00:00:00:aa", "extra_addrs": ["10.20.0.1/24"],
   "extra_routes": [{"destination": "10.99.0.0/16", "gateway": "10.10.0.254"}]}]}'
within 500 "a new event retries at once, and the fixed config applies" \
  bash -c "ip -n $R route show | grep -q '10.99.0.0/16 via 10.10.0.254'"
settle
check "no failure after that" bash -c "tail -1 $DAEMON_LOG | grep -q ' 0 failed'"
finish
