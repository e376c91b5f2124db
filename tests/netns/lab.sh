# The DHCP lab (issue 24): an ISP namespace ($I) running Kea, a router
# namespace ($R) running `netkeep run` and the real dhcpcd with netkeep's
# script, and behind lan0 either the ISP's second link (no LAN host) or a
# LAN host namespace ($H) served by dnsmasq. Shared by test_dhcp_lab.sh,
# test_dhcp_lan.sh and tools/lab; sourced after lib.sh. Every daemon's
# state, pid and lease files are in $WORK; dhcpcd gets a private /run and
# /var/lib/dhcpcd (its directories are not per network namespace). All are
# stopped by pid, or die with their namespaces.

# lab_topology [host]: the namespaces, their links and the router's config.
# uplink0 = 02:00:00:00:00:01 (link-local fe80::ff:fe00:1) faces the ISP's
# isp0 (203.0.113.1/24, 2001:db8:1::1/64, fe80::1); lan0 = 02:00:00:00:00:02
# (10.10.0.1/24) faces host0: in the LAN host with "host", else in the ISP.
lab_topology() {
  I=$(new_ns isp)
  R=$(new_ns router)
  local lan_peer=$I
  if [ "${1:-}" = host ]; then
    H=$(new_ns host)
    lan_peer=$H
  fi
  ip -n "$R" link add name uplink0 address 02:00:00:00:00:01 type veth peer name isp0 netns "$I"
  ip -n "$R" link add name eth4 address 02:00:00:00:00:02 type veth peer name host0 netns "$lan_peer"
  # No duplicate address detection: DHCPv6 wants the link-local addresses now.
  ip netns exec "$I" sysctl -qw net.ipv6.conf.isp0.accept_dad=0
  ip netns exec "$R" sysctl -qw net.ipv6.conf.uplink0.accept_dad=0
  ip -n "$I" addr add 203.0.113.1/24 dev isp0
  ip -n "$I" addr add 2001:db8:1::1/64 dev isp0
  ip -n "$I" addr add fe80::1/64 dev isp0
  ip -n "$I" link set isp0 up
  ip -n "$lan_peer" link set host0 up
  ROOT="$WORK/root"
  CFG="$WORK/config"
  mkdir -p "$ROOT/tmp" "$CFG"
  lan_config 10.10.0.1/24  # lib.sh: uplink0 and lan0 by their MACs
}

# Kea: 8 s leases (dhcpcd stretches them to its minimum of 20 s), renewal
# after 3 s; one address and one /56 to hand out. One /56, not a /48's
# 256: a renewal that reaches Kea after its 8 s lease expired was once
# given the pool's next /56 (2001:db8:5500:100::), the expired one being
# not yet reclaimed; with one, the client's own lease is the only one.
kea_config() {  # kea_config POOL4 PD_PREFIX
  cat >"$WORK/kea4.json" <<EOF
{"Dhcp4": {"interfaces-config": {"interfaces": ["isp0"]},
  "lease-database": {"type": "memfile", "persist": true, "name": "$WORK/kea4.leases", "lfc-interval": 0},
  "valid-lifetime": 8, "renew-timer": 3, "rebind-timer": 6,
  "subnet4": [{"id": 1, "subnet": "203.0.113.0/24", "pools": [{"pool": "$1 - $1"}],
    "option-data": [{"name": "routers", "data": "203.0.113.1"},
                    {"name": "domain-name-servers", "data": "192.0.2.53"}]}],
  "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "$WORK/kea4.log"}], "severity": "INFO"}]}}
EOF
  cat >"$WORK/kea6.json" <<EOF
{"Dhcp6": {"interfaces-config": {"interfaces": ["isp0"]},
  "lease-database": {"type": "memfile", "persist": true, "name": "$WORK/kea6.leases", "lfc-interval": 0},
  "server-id": {"type": "LL", "persist": false},
  "preferred-lifetime": 6, "valid-lifetime": 8, "renew-timer": 3, "rebind-timer": 5,
  "subnet6": [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "isp0",
    "pd-pools": [{"prefix": "$2", "prefix-len": 56, "delegated-len": 56}],
    "option-data": [{"name": "dns-servers", "data": "2001:db8::53"}]}],
  "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "$WORK/kea6.log"}], "severity": "INFO"}]}}
EOF
}
# Kea opens no socket on a link without carrier: start it once uplink0 is up.
kea_start() {
  KEA_LOCKFILE_DIR=$WORK KEA_PIDFILE_DIR=$WORK ip netns exec "$I" kea-dhcp4 -c "$WORK/kea4.json" >>"$WORK/kea.out" 2>&1 &
  KEA4=$!
  KEA_LOCKFILE_DIR=$WORK KEA_PIDFILE_DIR=$WORK ip netns exec "$I" kea-dhcp6 -c "$WORK/kea6.json" >>"$WORK/kea.out" 2>&1 &
  KEA6=$!
}
kea_listening() { listening "$I" udp 67 && listening "$I" udp 547; }
kea_stop() { kill "$KEA4" "$KEA6" 2>/dev/null; wait "$KEA4" "$KEA6" 2>/dev/null; }
# kea_renumber POOL4 PD_PREFIX: Kea restarted with another address and
# prefix to hand out, and no memory of the leases it gave.
kea_renumber() {
  kea_stop
  kea_config "$1" "$2"
  rm -f "$WORK/kea4.leases" "$WORK/kea6.leases"
  kea_start
}

# The script dhcpcd runs: netkeep's adapter, and a log of the events.
EVENTS="$WORK/events"
RUNNING="$WORK/script-running"
cat >"$WORK/dhcpcd-script" <<EOF
#!/bin/sh
echo "\$reason" >>"$EVENTS"
touch "$RUNNING"
"$NETKEEP" lease --config "$WORK/config" dhcpcd
rc=\$?
rm -f "$RUNNING"
exit \$rc
EOF
chmod +x "$WORK/dhcpcd-script"
# The packaged dhcpcd.conf, with this lab's script, and two settings for
# the lab: its ISP sends no router advertisements (DHCPv6 starts at once),
# and BOUND follows the ACK without ARP probes.
sed "s|@CMAKE_INSTALL_FULL_LIBEXECDIR@/netkeep/dhcpcd-script|$WORK/dhcpcd-script|" \
  "$(dirname "${BASH_SOURCE[0]}")/../../contrib/dhcp/dhcpcd.conf.in" >"$WORK/dhcpcd.conf"
printf '  noipv6rs\n  noarp\n' >>"$WORK/dhcpcd.conf"
mkdir -p "$WORK/dhcpcd-db"
dhcpcd_start() {
  ip netns exec "$R" sh -c "mount -t tmpfs none /run && mount --bind '$WORK/dhcpcd-db' /var/lib/dhcpcd &&
    exec dhcpcd -f '$WORK/dhcpcd.conf' -B -d uplink0" >>"$WORK/dhcpcd.log" 2>&1 &
  DHCPCD=$!
}
# Over its control socket, in its own /run: dhcpcd -x stops it (STOP: the
# leases stay in force), dhcpcd -k releases them. dhcpcd 9.4.1 hangs when
# told to stop while its script runs (seen with a sanitized netkeep, whose
# script takes longer): the command goes between two scripts. A renewal's
# script can still start in between (once the daemon then never exited and
# the lab ran into ctest's timeout): the command is bounded and asked
# again, three times, before dhcpcd is stopped by SIGTERM (which also
# keeps the leases), and SIGKILL after that, so the lab never hangs.
exited() { [ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }
dhcpcd_control() {
  local try
  for try in 1 2 3; do
    wait_until 10000 test ! -e "$RUNNING"
    timeout 10 nsenter -t "$DHCPCD" -m -n dhcpcd "$1" uplink0 >>"$WORK/dhcpcd.log" 2>&1
    wait_until 10000 exited "$DHCPCD" && break
    echo "# dhcpcd $1: still running after try $try" >>"$WORK/dhcpcd.log"
  done
  if ! exited "$DHCPCD"; then
    echo "# dhcpcd $1 ignored: SIGTERM" | tee -a "$WORK/dhcpcd.log"
    kill -TERM "$DHCPCD" 2>/dev/null
    wait_until 10000 exited "$DHCPCD" || kill -KILL "$DHCPCD" 2>/dev/null
  fi
  wait "$DHCPCD" 2>/dev/null
}
dhcpcd_stop() { dhcpcd_control -x; }
dhcpcd_release() { dhcpcd_control -k; }
events() { grep -c "^$1\$" "$EVENTS" 2>/dev/null || true; }

uplink_addrs() { ip -n "$R" -4 -o addr show dev uplink0; }
routes4() { ip -n "$R" -4 route show; }
has_lease4() {  # has_lease4 ADDR ROUTER
  uplink_addrs | grep -qF "inet $1/24 brd 203.0.113.255" &&
    routes4 | grep -qF "default via $2 dev uplink0 proto dhcp src $1" &&
    routes4 | grep -qF "$2 dev uplink0 proto dhcp scope link src $1"
}
no_lease4() { ! uplink_addrs | grep -q "inet " && ! routes4 | grep -q "proto dhcp"; }
has_prefix() { ip -n "$R" -6 -o addr show dev lan0 | grep -qF "inet6 $1/64"; }
no_prefix() { ! ip -n "$R" -6 -o addr show dev lan0 scope global | grep -q inet6; }
# dhcpcd takes over the link-local address of a link that is down when it
# starts (addr_gen_mode) and, not configuring, makes none: DHCPv6 then
# waits for ever. As on a router (the unit starts after netkeep), the
# uplink is up before dhcpcd starts.
has_ll() { ip -n "$R" -6 -o addr show dev uplink0 scope link | grep -q fe80::; }

# The ISP's side of a delegation, which Kea leaves to the network: each
# /48 it delegates from is routed to the router's link-local address; and
# the router's IPv6 default route, which an ISP's router advertisement
# would give (this lab's ISP sends none).
isp_routes() {
  ip -n "$I" -6 route add 2001:db8:4a00::/48 via fe80::ff:fe00:1 dev isp0
  ip -n "$I" -6 route add 2001:db8:5500::/48 via fe80::ff:fe00:1 dev isp0
  ip -n "$R" -6 route add default via fe80::1 dev uplink0
}

# dnsmasq on lan0, as the README's router runs it: DHCPv4 (one address,
# 10.10.0.23, so that a forwarding can name it) and router advertisements
# built from lan0's address in the delegated prefix, every 3 s. No DNS.
dnsmasq_start() {
  ip netns exec "$R" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --user=root \
    --interface=lan0 --bind-interfaces --pid-file="$WORK/dnsmasq.pid" \
    --dhcp-leasefile="$WORK/dnsmasq.leases" --log-facility="$WORK/dnsmasq.log" \
    --dhcp-range=10.10.0.23,10.10.0.23,255.255.255.0,2m \
    --dhcp-range=::,constructor:lan0,ra-stateless --enable-ra --ra-param=lan0,3 &
  DNSMASQ=$!
}

# The LAN host's DHCPv4 client: udhcpc with a script that configures
# host0 the way a Debian host's client would.
host_dhcp_start() {
  cat >"$WORK/host-udhcpc" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound | renew)
    ip -4 addr replace "$ip/$mask" dev "$interface"
    ip -4 route replace default via "$router" dev "$interface" ;;
esac
EOF
  chmod +x "$WORK/host-udhcpc"
  ip netns exec "$H" udhcpc -f -i host0 -s "$WORK/host-udhcpc" -t 20 -T 1 >"$WORK/host-udhcpc.log" 2>&1 &
  HOST_DHCP=$!
}
