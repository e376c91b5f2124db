#!/usr/bin/env bash
# Protecting the LAN and the router (issue 25, firewall.json), with traffic.
# Namespaces: wan W (203.0.113.1, 2001:db8:ffff::1), the router R (uplink0
# 203.0.113.62 by a lease and 2001:db8:ffff::2; lan0 10.10.0.1 and, from
# the dhcp6 lease's prefix, 2001:db8:4a00::1), and a LAN host L
# (10.10.0.23, 2001:db8:4a00::23). Without firewall.json the LAN host is
# open to the WAN (router7's behaviour); with it, only what the LAN opened,
# the forwardings and the pinholes come in, and the router answers on the
# uplink only on its open ports.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

R=$(new_ns router)
W=$(new_ns wan)
L=$(new_ns lan)
ip -n "$R" link add name eth3 address 02:00:00:00:00:01 type veth peer name h0 netns "$W"
ip -n "$R" link add name eth4 address 02:00:00:00:00:02 type veth peer name h0 netns "$L"
for ns in "$W" "$L"; do ip -n "$ns" link set h0 up; done
ip -n "$W" addr add 203.0.113.1/25 dev h0
ip -n "$W" addr add 2001:db8:ffff::1/64 dev h0 nodad
ip -n "$W" route add 2001:db8:4a00::/48 via 2001:db8:ffff::2
ip -n "$W" route add 2001:db8:4b00::/48 via 2001:db8:ffff::2
ip -n "$L" addr add 10.10.0.23/24 dev h0
ip -n "$L" addr add 2001:db8:4a00::23/64 dev h0 nodad
ip -n "$L" route add default via 10.10.0.1
ip -n "$L" -6 route add default via 2001:db8:4a00::1
ROOT="$WORK/root"
CFG="$WORK/config"
mkdir -p "$ROOT/tmp" "$CFG"
lan_config 10.10.0.1/24  # lib.sh: uplink0 and lan0 by their MACs
write "$CFG/dhcp4/wire/lease.json" '{"valid_until": "2099-01-01T00:00:00Z", "client_ip": "203.0.113.62",
  "subnet_mask": "255.255.255.128", "router": "203.0.113.1", "dns": ["192.0.2.53"]}'
lease6() {  # lease6 PREFIX: the dhcp6 lease delegates PREFIX/64
  write "$CFG/dhcp6/wire/lease.json" "{\"valid_until\": \"2099-01-01T00:00:00Z\",
  \"prefixes\": [{\"IP\": \"$1\", \"Mask\": \"////////AAAAAAAAAAAAAA==\"}], \"dns\": []}"
}
lease6 2001:db8:4a00::
write "$CFG/portforwardings.json" '{"forwardings": [
  {"proto": "tcp", "port": "8080", "dest_addr": "10.10.0.23", "dest_port": "80"}]}'
status "the first apply (no firewall.json)" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
# The uplink's IPv6 address and default route, as SLAAC would give them
# (not netkeep's: it leaves them alone).
ip -n "$R" addr add 2001:db8:ffff::2/64 dev uplink0 nodad
ip -n "$R" -6 route add default via 2001:db8:ffff::1
for _ in $(seq 1 50); do dad_done "$R" && break; sleep 0.1; done

# Another program's tables (docker's, tailscale's): never touched.
cat >"$WORK/other.nft" <<'NFT'
table ip6 other {
  chain filter_forward { type filter hook forward priority 10; policy accept; tcp dport 9999 counter accept; }
}
table inet other {
  set allowed { type ipv6_addr; elements = { 2001:db8::99 }; }
}
NFT
check "another program's tables are loaded" ip netns exec "$R" nft -f "$WORK/other.nft"
others() { ip netns exec "$R" nft -a list table ip6 other; ip netns exec "$R" nft -a list table inet other; }
OTHERS=$(others)
contains "  (they hold its chain and set)" "$OTHERS" "2001:db8::99"

# Servers: TCP and UDP listeners that answer with a tag, in L and in R.
# Every socket is bound in the main thread, UDP last: once the last port's
# UDP socket is bound, the server listens on all of them.
cat >"$WORK/srv.py" <<'PY'
import socket, sys, threading
def tcp(fam, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", port))
    s.listen(16)
    def serve():
        while True:
            c, _ = s.accept()
            c.sendall(b"hello %d\n" % port)
            c.close()
    return serve
def udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", port))
    def serve():
        while True:
            d, a = s.recvfrom(100)
            s.sendto(b"udp " + d, a)
    return serve
servers = []
for p in map(int, sys.argv[1:]):
    servers += [tcp(socket.AF_INET, p), tcp(socket.AF_INET6, p), udp(p)]
for serve in servers:
    threading.Thread(target=serve, daemon=True).start()
threading.Event().wait()
PY
cat >"$WORK/cli.py" <<'PY'
# cli.py tcp|udp ADDR PORT [SOURCE]: prints "open: ..." (a reply), "refused"
# (a reset), or "silent" (nothing within 1.5 s); cli.py ping ADDR: an
# ICMPv6 echo, "open: echo reply" or "silent" (no ping(8) needed)
import os, socket, sys, time
proto, addr = sys.argv[1], sys.argv[2]
if proto == "ping":
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    ident = os.getpid() & 0xffff
    s.sendto(bytes([128, 0, 0, 0, ident >> 8, ident & 0xff, 0, 1]) + b"netkeep", (addr, 0))
    end = time.time() + 1.5
    while time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        try:
            d, a = s.recvfrom(200)
        except (socket.timeout, TimeoutError):
            break
        if d[0] == 129 and d[4:6] == bytes([ident >> 8, ident & 0xff]):
            print("open: echo reply")
            sys.exit(0)
    print("silent")
    sys.exit(0)
port = int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.settimeout(1.5)
if len(sys.argv) > 4:
    s.bind((sys.argv[4], 0))
try:
    if proto == "tcp":
        s.connect((addr, port))
        print("open:", s.recv(100).decode().strip())
    else:
        s.sendto(b"ping", (addr, port))
        print("open:", s.recv(100).decode().strip())
except ConnectionRefusedError:
    print("refused")
except (socket.timeout, TimeoutError):
    print("silent")
except OSError as e:
    print("error:", e)
PY
ip netns exec "$L" python3 "$WORK/srv.py" 80 443 8443 22 &
ip netns exec "$R" python3 "$WORK/srv.py" 22 2222 &
ip netns exec "$W" python3 "$WORK/srv.py" 2222 &
within 10000 "the LAN host's servers listen" listening "$L" udp 22
within 10000 "the router's servers listen" listening "$R" udp 2222
within 10000 "the WAN host's server listens" listening "$W" udp 2222
from_wan() { ip netns exec "$W" python3 "$WORK/cli.py" "$@"; }
from_lan() { ip netns exec "$L" python3 "$WORK/cli.py" "$@"; }

# Off: router7's behaviour, every LAN host's IPv6 address is reachable.
contains "off: the LAN host's IPv6 TCP port is open from the WAN" "$(from_wan tcp 2001:db8:4a00::23 8443)" "open: hello 8443"
contains "off: its UDP port too" "$(from_wan udp 2001:db8:4a00::23 8443)" "open: udp ping"
contains "off: the router's port on the uplink too" "$(from_wan tcp 2001:db8:ffff::2 2222)" "open: hello 2222"
BEFORE=$(ruleset "$R")
lacks "off: no protection objects" "$BEFORE" "protect-lan"

firewall() {  # firewall [PINHOLE]: the test's firewall.json, with one more pinhole
  write "$CFG/firewall.json" "{\"protect_lan\": true, \"protect_router\": true,
  \"open\": [{\"proto\": \"tcp\", \"port\": \"22\"}],
  \"pinholes\": [{\"proto\": \"tcp\", \"port\": \"443\", \"dest_iid\": \"::23\"},${1:+ $1,}
    {\"proto\": \"tcp\", \"port\": \"22\", \"dest_iid\": \"::23\", \"from\": \"2001:db8:ffff::1/128\"}]}"
}
firewall
nk "$R" plan --config "$CFG" --root "$ROOT" >"$WORK/plan" 2>&1
PLAN=$(cat "$WORK/plan")
contains "plan: the pinhole in its own words" "$PLAN" "+ pinhole tcp 443 -> ::23 (2001:db8:4a00::23)"
contains "plan: the open port" "$PLAN" "+ open tcp 22 (ip6 open)"
status "apply with firewall.json" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
status "then plan has nothing to do" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# On: unsolicited traffic from the WAN is blocked, TCP answered with a reset.
equals "on: unsolicited IPv6 TCP is refused (reset)" "$(from_wan tcp 2001:db8:4a00::23 8443)" "refused"
equals "on: unsolicited IPv6 UDP is dropped" "$(from_wan udp 2001:db8:4a00::23 8443)" "silent"
contains "on: the pinhole opens its host, port and protocol" "$(from_wan tcp 2001:db8:4a00::23 443)" "open: hello 443"
equals "on: and not the same port over UDP" "$(from_wan udp 2001:db8:4a00::23 443)" "silent"
contains "on: a pinhole's from lets its source in" "$(from_wan tcp 2001:db8:4a00::23 22)" "open: hello 22"
ip -n "$W" addr add 2001:db8:ffff::9/64 dev h0 nodad
equals "on: and no other source" "$(from_wan tcp 2001:db8:4a00::23 22 2001:db8:ffff::9)" "refused"
ip -n "$W" addr del 2001:db8:ffff::9/64 dev h0  # replies go from ::1 again
contains "on: what the LAN host opens works both ways (TCP)" "$(from_lan tcp 2001:db8:ffff::1 2222)" "open: hello 2222"
contains "on: (UDP)" "$(from_lan udp 2001:db8:ffff::1 2222)" "open: udp ping"
contains "on: the LAN host pings the WAN" "$(from_lan ping 2001:db8:ffff::1)" "open: echo reply"
contains "on: the WAN pings the LAN host (ICMPv6 echo passes, RFC 4890)" "$(from_wan ping 2001:db8:4a00::23)" "open: echo reply"
# A Packet Too Big from a small-MTU hop beyond the WAN (W -1280- M - F)
# reaches the LAN host for its established flow: 20 kB from L to F get
# through (a filter that dropped it would stall the transfer for good).
M=$(new_ns mid)
F=$(new_ns far)
ip -n "$W" link add name m0 mtu 1280 type veth peer name w0 netns "$M"
ip -n "$M" link add name f0 type veth peer name m0 netns "$F"
ip -n "$M" link set w0 mtu 1280
for pair in "$W m0" "$M w0" "$M f0" "$F m0"; do set -- $pair; ip -n "$1" link set "$2" up; done
ip -n "$W" addr add 2001:db8:eee1::1/64 dev m0 nodad
ip -n "$M" addr add 2001:db8:eee1::2/64 dev w0 nodad
ip -n "$M" addr add 2001:db8:eee2::1/64 dev f0 nodad
ip -n "$F" addr add 2001:db8:eee2::2/64 dev m0 nodad
ip -n "$W" route add 2001:db8:eee2::/64 via 2001:db8:eee1::2
ip -n "$M" -6 route add default via 2001:db8:eee1::1
ip -n "$F" -6 route add default via 2001:db8:eee2::1
for ns in "$W" "$M"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1; done
ip netns exec "$F" python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::", 7000)); s.listen(4)
while True:
    c, _ = s.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(b"%d" % n); c.close()' &
within 10000 "the far host's server listens" listening "$F" tcp 7000
big() {  # big SECONDS: 20 kB from L to F; prints what F counted
  ip netns exec "$L" timeout "$1" python3 -c '
import socket
c = socket.create_connection(("2001:db8:eee2::2", 7000), timeout=8)
c.sendall(b"x" * 20000); c.shutdown(socket.SHUT_WR)
print(c.recv(100).decode())' 2>&1
}
equals "on: a Packet Too Big from a 1280-byte hop reaches the LAN host (20 kB get through)" "$(big 10)" "20000"
contains "  (the LAN host learned the path MTU)" "$(ip -n "$L" -6 route get 2001:db8:eee2::2)" "mtu 1280"
# The control: another program's rule that drops Packet Too Big on the
# router, and the same transfer stalls.
ip -n "$L" -6 route flush cache
ip netns exec "$R" nft add table ip6 ptbdrop
ip netns exec "$R" nft add chain ip6 ptbdrop f '{ type filter hook forward priority -10; }'
ip netns exec "$R" nft add rule ip6 ptbdrop f icmpv6 type packet-too-big drop
lacks "  (control: with Packet Too Big dropped, it stalls)" "$(big 3)" "20000"
ip netns exec "$R" nft delete table ip6 ptbdrop

contains "on: a forwarding still works (ct status dnat)" "$(from_wan tcp 203.0.113.62 8080)" "open: hello 80"
contains "on: hairpin too" "$(from_lan tcp 203.0.113.62 8080)" "open: hello 80"
ip -n "$W" route add 10.10.0.0/24 via 203.0.113.62
equals "on: unsolicited IPv4 to the LAN host's address is refused" "$(from_wan tcp 10.10.0.23 8443)" "refused"
equals "on: the router's closed port is refused from the WAN" "$(from_wan tcp 2001:db8:ffff::2 2222)" "refused"
contains "on: its open port answers from the WAN" "$(from_wan tcp 2001:db8:ffff::2 22)" "open: hello 22"
contains "on: the router's closed port answers from the LAN" "$(from_lan tcp 2001:db8:4a00::1 2222)" "open: hello 2222"
contains "on: IPv4 too: the router's closed port is refused from the WAN" "$(from_wan tcp 203.0.113.62 2222)" "refused"
COUNTERS=$(ip netns exec "$R" nft list counter ip6 netkeep lan-rejected)
lacks "on: lan-rejected counted the resets" "$COUNTERS" "packets 0 "
SHOWN=$(nk "$R" show --config "$CFG" --root "$ROOT")
pin443=$(sed -nE 's/^pinhole tcp 443 -> 2001:db8:4a00::23 packets ([0-9]+) .*/\1/p' <<<"$SHOWN")
check "show: the pinhole with the packets it let in ($pin443)" test "${pin443:-0}" -ge 1
contains "show: protection's counters" "$SHOWN" "protection ip6 lan-rejected packets"

# The daemon's metrics: what protection dropped and refused, by family and hook.
daemon_start "$R" --config "$CFG" --root "$ROOT" --metrics 127.0.0.1:9100
for _ in $(seq 1 50); do [ "$(reconciles)" -ge 1 ] && break; sleep 0.1; done
METRICS=$(ip netns exec "$R" python3 -c '
import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=3).read().decode())' 2>&1)
pinholes() { ip netns exec "$R" nft list set ip6 netkeep pinholes; }
firewall '{"proto": "udp", "port": "8443", "dest_iid": "::23"}'
for _ in $(seq 1 50); do pinholes | grep -q "2001:db8:4a00::23 . udp . 8443" && break; sleep 0.1; done
contains "the daemon applies an edit of firewall.json" "$(pinholes)" "2001:db8:4a00::23 . udp . 8443"
contains "daemon: the new pinhole lets its traffic in" "$(from_wan udp 2001:db8:4a00::23 8443)" "open: udp ping"
firewall
for _ in $(seq 1 50); do pinholes | grep -q "udp . 8443" || break; sleep 0.1; done
lacks "and takes the pinhole away again" "$(pinholes)" "udp . 8443"
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null
refused=$(awk '$1 == "netkeep_protection_rejected_packets_total{family=\"ipv6\",hook=\"forward\"}" {print $2}' <<<"$METRICS")
check "metrics: the LAN's refused IPv6 segments counted ($refused)" test "${refused:-0}" -ge 2
contains "metrics: the router's input hook too" "$METRICS" 'netkeep_protection_dropped_packets_total{family="ipv4",hook="input"}'
pin=$(awk '$1 == "netkeep_pinhole_packets_total{proto=\"tcp\",port=\"443\",dest=\"2001:db8:4a00::23\"}" {print $2}' <<<"$METRICS")
check "metrics: the pinhole's packets ($pin)" test "${pin:-0}" -ge 1

# The operator's round trip: the table listed and loaded again by nft is
# what netkeep makes, byte for byte (plan has nothing to do).
ip netns exec "$R" nft list table ip6 netkeep >"$WORK/ip6.nft"
ip netns exec "$R" nft delete table ip6 netkeep
check "round trip: nft loads its own listing of ip6 netkeep" ip netns exec "$R" nft -f "$WORK/ip6.nft"
status "round trip: and netkeep changes nothing" 0 nk "$R" plan --config "$CFG" --root "$ROOT"

# A renumbering: a new prefix moves the dest_iid pinhole in one transaction.
lease6 2001:db8:4b00::
nk "$R" plan --config "$CFG" --root "$ROOT" >"$WORK/plan" 2>&1
PLAN=$(cat "$WORK/plan")
contains "renumbering: the new element" "$PLAN" "+ pinhole tcp 443 -> ::23 (2001:db8:4b00::23)"
contains "renumbering: the old one goes" "$PLAN" "- pinhole tcp 443 -> 2001:db8:4a00::23"
lacks "renumbering: no chain of protection's is rewritten but the from rule" "$(grep -v 'saddr 2001:db8:ffff::1' <<<"$PLAN")" "- nft ip6 netkeep chain"
status "renumbering: apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
ip -n "$L" addr add 2001:db8:4b00::23/64 dev h0 nodad
ip -n "$L" -6 route replace default via 2001:db8:4b00::1
for _ in $(seq 1 50); do dad_done "$R" && break; sleep 0.1; done
contains "renumbering: the pinhole follows the host" "$(from_wan tcp 2001:db8:4b00::23 443)" "open: hello 443"
lacks "renumbering: the old address is closed" "$(from_wan tcp 2001:db8:4a00::23 443)" "open:"

# An invalid firewall.json freezes protection exactly as the kernel has it.
BEFORE=$(ruleset "$R")
write "$CFG/firewall.json" '{"pinholes": [{"proto": "tcp", "port": "99999", "dest_iid": "::23"}]}'
status "invalid firewall.json: apply fails" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "invalid firewall.json: the error names path and value" "$(cat "$WORK/err")" 'firewall.json: pinholes[0].port: "99999"'
equals "invalid firewall.json: protection stays as it is" "$(ruleset "$R")" "$BEFORE"

# Off again: one apply, and the ruleset is as before protection (but the
# empty ip6 netkeep table and the counters, which keep their counts).
rm "$CFG/firewall.json"
status "off again: apply" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
AFTER=$(ruleset "$R")
lacks "off again: no protection chain" "$AFTER" "protect-"
lacks "off again: no protection set" "$AFTER" "pinholes"
contains "off again: the LAN host is open again" "$(from_wan tcp 2001:db8:4b00::23 8443)" "open: hello 8443"
equals "other programs' tables are byte for byte as they were, through it all" "$(others)" "$OTHERS"
finish
