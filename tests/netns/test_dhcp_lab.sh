#!/usr/bin/env bash
# Leases from Debian's DHCP clients (issue 24), proven against real,
# independent software: the lab of lab.sh (Kea at the ISP, the real
# dhcpcd with netkeep's script and `netkeep run` on the router), then
# udhcpc against the same Kea. The LAN side is test_dhcp_lan.sh's. All of
# it with firewall.json's protection on (issue 25): the clients' replies
# and renewals still come in.
source "$(dirname "$0")/lib.sh"
for tool in kea-dhcp4 kea-dhcp6 dhcpcd udhcpc; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/deps installs it)"; exit 77; }
done

source "$(dirname "$0")/lab.sh"
lab_topology

write "$CFG/firewall.json" '{"protect_lan": true, "protect_router": true}'
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9100
scrape() { printf 'GET /metrics HTTP/1.1\r\nHost: netkeep\r\n\r\n' | ip netns exec "$R" socat -t 2 - TCP:127.0.0.1:9100; }
started() { [ "$(reconciles)" -ge 1 ]; }
within 10000 "the daemon converged on interfaces.json" started
within 5000 "uplink0 is up, with its link-local address" has_ll
protected() {
  ip netns exec "$R" nft list chain ip netkeep protect-router >/dev/null 2>&1 &&
    ip netns exec "$R" nft list chain ip6 netkeep protect-router >/dev/null 2>&1
}
within 5000 "protection is on: the router's input chains are there" protected
kea_config 203.0.113.62 2001:db8:4a00::
kea_start
within 10000 "Kea listens (DHCPv4 and DHCPv6)" kea_listening
dhcpcd_start

lease4="$CFG/dhcp4/wire/lease.json"
within 20000 "dhcpcd BOUND: the lease file is written" test -s "$lease4"
within 2000 "BOUND: uplink0 has the address, the /32 and the default route within 2 s" \
  has_lease4 203.0.113.62 203.0.113.1
contains "the lease file is router7's format" "$(cat "$lease4")" \
  '"client_ip":"203.0.113.62","subnet_mask":"255.255.255.0","router":"203.0.113.1","dns":["192.0.2.53"]}'
within 30000 "dhcpcd BOUND6: the delegated prefix's address is on lan0" has_prefix 2001:db8:4a00::1
status "plan then has nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
shown=$(nk "$R" show --config "$CFG" --root "$ROOT")
contains "show: the DHCPv4 lease and the time it has left" "$shown" \
  "lease dhcp4: 203.0.113.62/24 via 203.0.113.1, valid until "
contains "show: the delegated prefix" "$shown" "lease dhcp6: 2001:db8:4a00::/56, valid until "
nk "$R" show --json --config "$CFG" --root "$ROOT" >"$WORK/show.json"
check "show --json: JSON, both leases in force with what they hold" python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))["leases"]
assert l["dhcp4"]["state"] == "in force" and l["dhcp4"]["address"] == "203.0.113.62/24", l
assert l["dhcp6"]["prefixes"] == ["2001:db8:4a00::/56"] and l["dhcp6"]["seconds_left"] >= 0, l' "$WORK/show.json"
# dhcpcd stretches Kea's 8 s to 20 s; the file says when from the event.
until4=$(scrape | sed -nE 's/^netkeep_lease_valid_until_seconds\{family="ipv4"\} ([0-9]+)\r?$/\1/p')
left=$(( ${until4:-0} - $(date +%s) ))
check "metrics: the DHCPv4 lease's end, 0-20 s ahead ($left s)" test "$left" -ge 0 -a "$left" -le 20
contains "dhcpcd configured nothing itself (noconfigure)" "$(uplink_addrs | wc -l)" 1

# Renewals: Kea's renew timer is 3 s. The address never leaves.
ip_monitor_start "$R" "$WORK/monitor" link address route
renewed() { [ "$(events RENEW)" -ge 3 ]; }
within 20000 "three renewals in a row" renewed
equals "no REBIND or EXPIRE: every renewal was answered" "$(events REBIND)$(events EXPIRE)" "00"
within 1000 "the lease still in place" has_lease4 203.0.113.62 203.0.113.1

# dhcpcd restarted with its saved lease: REBOOT (and REBIND6), no flap.
dhcpcd_stop
equals "STOP ended nothing" "$(grep -c '"state":"ended"' "$lease4")" 0
dhcpcd_start
rebooted() { [ "$(events REBOOT)" -ge 1 ]; }
within 20000 "dhcpcd restarted: REBOOT with the saved lease" rebooted
rebound6() { [ "$(events REBIND6)" -ge 1 ]; }
within 20000 "and REBIND6 with the saved prefix" rebound6
sleep 1
lacks "no address or route deleted through renewals and the restart" "$(monitor_stop)" "Deleted"
check "the lease in place after the restart" has_lease4 203.0.113.62 203.0.113.1

# A malformed environment: an error naming the variable and its value;
# the lease file stays as it was.
cp "$lease4" "$WORK/lease4.before"
status "a malformed environment exits 1" 1 env -i reason=BOUND new_ip_address=203.0.113.300 \
  new_subnet_mask=255.255.255.0 new_routers=203.0.113.1 new_dhcp_lease_time=60 \
  "$NETKEEP" lease --config "$CFG" dhcpcd
contains "the error names the variable and the value" "$(cat "$WORK/err")" \
  'new_ip_address="203.0.113.300": not an IPv4 address'
check "the lease file is unchanged" cmp "$lease4" "$WORK/lease4.before"

# The server stops answering: dhcpcd reports EXPIRE; everything goes.
kea_stop
expired() { [ "$(events EXPIRE)" -ge 1 ]; }
within 40000 "the server stopped: dhcpcd reports the lease expired" expired
within 1000 "EXPIRE: the address and the routes are gone within 1 s" no_lease4
contains "the lease file says ended, not deleted" "$(cat "$lease4")" '"state":"ended"'
contains "show: the lease ended" "$(nk "$R" show --config "$CFG" --root "$ROOT")" \
  "lease dhcp4: ended (203.0.113.62/24 via 203.0.113.1)"
expired6() { [ "$(events EXPIRE6)" -ge 1 ]; }
within 40000 "dhcpcd reports the DHCPv6 lease expired" expired6
within 1000 "EXPIRE6: the prefix's address on lan0 is gone within 1 s" no_prefix

# The server back with another address and another prefix: the new
# lease is in place, nothing of the old is left.
kea_renumber 203.0.113.77 2001:db8:5500::
within 40000 "another address from the server" has_lease4 203.0.113.77 203.0.113.1
lacks "the old address is gone" "$(uplink_addrs)" "203.0.113.62"
within 40000 "another prefix from the server" has_prefix 2001:db8:5500::1
check "the old prefix's address is gone" test -z "$(ip -n "$R" -6 -o addr show dev lan0 | grep 2001:db8:4a00:)"

# Release (dhcpcd -k): the lease ends at once. dhcpcd 9 reports it as
# STOP, having removed its own saved lease first.
dhcpcd_release
within 1000 "dhcpcd -k: the address and the routes are gone within 1 s" no_lease4
within 1000 "dhcpcd -k: the prefix's address is gone within 1 s" no_prefix
contains "the DHCPv4 lease file says ended" "$(cat "$lease4")" '"state":"ended"'
contains "the DHCPv6 lease file says ended" "$(cat "$CFG/dhcp6/wire/lease.json")" '"state":"ended"'
status "plan then has nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# udhcpc against the same Kea: bound, then a renewal (at half the lease).
cat >"$WORK/udhcpc-script" <<EOF
#!/bin/sh
echo "udhcpc-\$1" >>"$EVENTS"
exec "$NETKEEP" lease --config "$CFG" udhcpc "\$1"
EOF
chmod +x "$WORK/udhcpc-script"
ip netns exec "$R" udhcpc -f -i uplink0 -s "$WORK/udhcpc-script" -t 10 -T 1 >"$WORK/udhcpc.log" 2>&1 &
UDHCPC=$!
udhcpc_bound() { [ "$(events udhcpc-bound)" -ge 1 ] && has_lease4 203.0.113.77 203.0.113.1; }
within 20000 "udhcpc bound: the address and routes" udhcpc_bound
udhcpc_renewed() { [ "$(events udhcpc-renew)" -ge 1 ]; }
within 20000 "udhcpc renewed" udhcpc_renewed
check "udhcpc's lease still in place" has_lease4 203.0.113.77 203.0.113.1
kill -USR2 "$UDHCPC"  # release: udhcpc calls deconfig
within 2000 "udhcpc released (deconfig after its lease): the address and routes are gone" no_lease4
kill "$UDHCPC" 2>/dev/null
wait "$UDHCPC" 2>/dev/null
kea_stop
kill "$DAEMON" 2>/dev/null
wait "$DAEMON" 2>/dev/null
[ "$FAILED" = 0 ] || { sed "s/^/# /" "$EVENTS" | tr "\n" " "; echo; sed "s/^/# /" "$WORK/dhcpcd.log" | head -60; }
finish
