#!/usr/bin/env bash
# The LAN side of the DHCP lab (issue 24): a LAN host behind lan0 gets a
# DHCPv4 lease and a SLAAC address in the delegated prefix from dnsmasq,
# reaches the ISP over IPv4 (masquerade) and IPv6 (routed prefix), is
# reached through a forwarding and over the hairpin; then the ISP hands out
# another address and prefix, and all of it works again on the new ones.
source "$(dirname "$0")/lib.sh"
for tool in kea-dhcp4 kea-dhcp6 dhcpcd udhcpc dnsmasq socat; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (tools/deps installs it)"; exit 77; }
done

source "$(dirname "$0")/lab.sh"
lab_topology host
write "$CFG/portforwardings.json" '{"forwardings": [{"port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
daemon_start "$R" --config "$CFG" --root "$ROOT"
within 5000 "uplink0 is up, with its link-local address" has_ll
isp_routes
kea_config 203.0.113.62 2001:db8:4a00::
kea_start
within 10000 "Kea listens (DHCPv4 and DHCPv6)" kea_listening
dhcpcd_start
within 20000 "the router's lease" has_lease4 203.0.113.62 203.0.113.1
within 30000 "the router's delegated prefix on lan0" has_prefix 2001:db8:4a00::1
dnsmasq_start
host_dhcp_start

# Echo services: at the ISP on both families, and port 80 on the LAN host.
ip netns exec "$I" socat TCP6-LISTEN:7,ipv6only=0,reuseaddr,fork EXEC:cat &
ip netns exec "$H" socat TCP4-LISTEN:80,reuseaddr,fork SYSTEM:'echo host-80' 2>/dev/null &
wait_until 5000 listening "$I" tcp 7
wait_until 5000 listening "$H" tcp 80
# reach NS ADDR PORT [SOURCE]: a TCP round trip from NS
reach() {
  local bind=""; [ -n "${4:-}" ] && bind=",bind=[$4]"
  case $2 in *:*) local to="TCP6:[$2]:$3$bind" ;; *) local to="TCP4:$2:$3" ;; esac
  echo ping | ip netns exec "$1" timeout 3 socat -t 1 - "$to" 2>/dev/null | grep -q .
}
host_v4() { ip -n "$H" -4 -o addr show dev host0 | grep -qF "inet 10.10.0.23/24"; }
# host_slaac PREFIX: the host's global address in PREFIX (printed), not deprecated
host_slaac() {
  ip -n "$H" -6 -o addr show dev host0 scope global -deprecated | grep -oE "inet6 $1[0-9a-f:]+" | cut -d" " -f2
}
has_slaac() { [ -n "$(host_slaac "$1")" ]; }

within 20000 "the LAN host's DHCPv4 lease from dnsmasq" host_v4
within 20000 "the LAN host's SLAAC address in the delegated prefix" has_slaac 2001:db8:4a00:
old6=$(host_slaac 2001:db8:4a00:)
within 5000 "the LAN host reaches the ISP over IPv4 (masquerade)" reach "$H" 203.0.113.1 7
within 5000 "the LAN host reaches the ISP over IPv6 from its SLAAC address" reach "$H" 2001:db8:1::1 7 "$old6"
within 5000 "the ISP reaches the LAN host through the forwarding" reach "$I" 203.0.113.62 8080
within 5000 "the LAN host reaches itself over the hairpin" reach "$H" 203.0.113.62 8080

# Renumbering: the ISP hands out another address and prefix; dhcpcd asks
# again after a release (as after a reboot on a dynamic line). Up to a
# minute: a first Solicit that reaches Kea before it answers is retried
# after 1, 2, 4, 8 and 16 s (once, under ASan, the prefix came after 30 s).
kea_renumber 203.0.113.77 2001:db8:5500::
within 10000 "Kea listens again" kea_listening
dhcpcd_release
dhcpcd_start
within 60000 "the router's new address" has_lease4 203.0.113.77 203.0.113.1
within 60000 "the router's new prefix on lan0" has_prefix 2001:db8:5500::1
lacks "the old prefix's address is gone from lan0" "$(ip -n "$R" -6 -o addr show dev lan0)" 2001:db8:4a00:
within 30000 "the LAN host moves: a SLAAC address in the new prefix" has_slaac 2001:db8:5500:
new6=$(host_slaac 2001:db8:5500:)
lacks "the old prefix is deprecated on the LAN host" "$(host_slaac 2001:db8:4a00:)" 2001:db8:4a00:
within 5000 "the LAN host reaches the ISP over IPv6 from its new address" reach "$H" 2001:db8:1::1 7 "$new6"
within 5000 "the LAN host reaches the ISP over IPv4 (masquerade, new address)" reach "$H" 203.0.113.1 7
within 5000 "the ISP reaches the LAN host through the forwarding (new address)" reach "$I" 203.0.113.77 8080
unreached() { ! reach "$@"; }
check "the old address forwards nothing" unreached "$I" 203.0.113.62 8080
within 5000 "the LAN host reaches itself over the hairpin (new address)" reach "$H" 203.0.113.77 8080
status "plan then has nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

kill "$HOST_DHCP" "$DNSMASQ" 2>/dev/null
dhcpcd_stop
kea_stop
kill "$DAEMON" 2>/dev/null
wait "$DAEMON" 2>/dev/null
[ "$FAILED" = 0 ] || { sed "s/^/# /" "$EVENTS" | tr "\n" " "; echo; sed "s/^/# /" "$WORK/dnsmasq.log" | tail -30; }
finish
