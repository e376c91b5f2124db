#!/usr/bin/env bash
# Must-hold 7 of the core issue: a bad file gets an error naming the file,
# the JSON path and the value, exit 1; it contributes nothing and what it
# governs stays in the kernel exactly as it is; the other files still apply.
source "$(dirname "$0")/lib.sh"

router_setup
CFG=$(config_from fresh-system)
GOOD="$WORK/good"
cp -r "$CFG" "$GOOD"
status "converge on the good config" 0 nk "$R" apply --config "$CFG" --root "$ROOT"

lan_state() {  # what interfaces.json governs on lan0
  ip -n "$R" -o link show dev lan0 | sed 's/state [A-Z]*//'
  ip -n "$R" -o -4 addr show dev lan0
  ip -n "$R" -6 route show proto 78
}
uplink_state() {  # what the DHCPv4 lease governs
  ip -n "$R" -o -4 addr show dev uplink0
  ip -n "$R" route show proto dhcp
}
# Without "tentative": DAD may end between the two reads (seen under ASan).
v6_state() { ip -n "$R" -o -6 addr show dev lan0 scope global | sed 's/ tentative / /'; }

LEASE6_N=0
touch_dhcp6() {  # a change in another, good file
  LEASE6_N=$((LEASE6_N + 1))
  write "$CFG/dhcp6/wire/lease.json" "{\"prefixes\": [{\"IP\": \"2001:db8:$LEASE6_N::\", \"Mask\": \"////////AAAAAAAAAAAAAA==\"}]}"
}
LEASE4_N=0
touch_dhcp4() {
  LEASE4_N=$((LEASE4_N + 1))
  write "$CFG/dhcp4/wire/lease.json" "{\"client_ip\": \"198.51.100.$LEASE4_N\", \"subnet_mask\": \"255.255.255.0\", \"router\": \"198.51.100.254\"}"
}

# bad FILE CONTENT EXPECTED-MESSAGE
bad() {
  local file=$1 content=$2 want=$3
  cp -r "$GOOD/." "$CFG/"
  nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1
  local before_lan before_up before_v6
  before_lan=$(lan_state); before_up=$(uplink_state); before_v6=$(v6_state)
  if [ -z "$content" ]; then : >"$CFG/$file"; else write "$CFG/$file" "$content"; fi
  case $file in
    interfaces.json | dhcp4/*) touch_dhcp6 ;;
    dhcp6/*) touch_dhcp4 ;;
  esac
  status "$file [$want]: apply exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
  contains "$file: the error names file, path and value" "$(cat "$WORK/err")" "$want"
  case $file in
    interfaces.json)
      equals "$file: lan0 exactly as it was" "$(lan_state)" "$before_lan"
      contains "$file: the good DHCPv6 lease still applied" "$(v6_state)" "2001:db8:$LEASE6_N::1/64" ;;
    dhcp4/*)
      equals "$file: uplink0's lease state exactly as it was" "$(uplink_state)" "$before_up"
      contains "$file: the good DHCPv6 lease still applied" "$(v6_state)" "2001:db8:$LEASE6_N::1/64" ;;
    dhcp6/*)
      equals "$file: lan0's prefix address exactly as it was" "$(v6_state)" "$before_v6"
      contains "$file: the good DHCPv4 lease still applied" "$(uplink_state)" "198.51.100.$LEASE4_N/24" ;;
  esac
}

I='{"interfaces": [{"hardware_addr": "02:00:00:00:00:01", "name": "uplink0"}, {"hardware_addr": "02:00:00:00:00:02", "name": "lan0", '
bad interfaces.json '{"interfaces": [' "interfaces.json: invalid JSON"
bad interfaces.json '' "interfaces.json: file is empty"
bad interfaces.json '{"interfaces": {"name": "lan0"}}' 'interfaces.json: interfaces: {"name":"lan0"} is an object, expected an array'
bad interfaces.json "$I"'"mtu": "1492"}]}' 'interfaces.json: interfaces[1].mtu: "1492" is a string, expected an integer'
bad interfaces.json '{"interfaces": [{"hardware_addr": "02:00:00:00:00:zz", "name": "lan0"}]}' 'interfaces.json: interfaces[0].hardware_addr: "02:00:00:00:00:zz" is not a MAC address'
bad interfaces.json "$I"'"addr": "10.10.0.300/24"}]}' 'interfaces.json: interfaces[1].addr: "10.10.0.300" is not an IP address'
bad interfaces.json "$I"'"addr": "10.10.0.1/40"}]}' 'interfaces.json: interfaces[1].addr: "10.10.0.1/40": prefix length must be 0-32'
bad interfaces.json "$I"'"extra_addrs": ["10.20.0.1/24"]}, {"name": "averyveryverylong0"}]}' 'interfaces.json: interfaces[2].name: "averyveryverylong0" is longer than 15 bytes'
bad interfaces.json "$I"'"mtu": 70000}]}' 'interfaces.json: interfaces[1].mtu: 70000 is out of range'
bad dhcp4/wire/lease.json '{"client_ip": "203.0.113.62", "subnet_mask": "255.0.255.0", "router": "203.0.113.1"}' 'dhcp4/wire/lease.json: subnet_mask: "255.0.255.0" is not a contiguous netmask'
bad dhcp4/wire/lease.json '{"client_ip": "203.0.113.62", "router": "203.0.113.1"}' 'dhcp4/wire/lease.json: subnet_mask: missing'
bad dhcp4/wire/lease.json '' 'dhcp4/wire/lease.json: file is empty'
bad dhcp6/wire/lease.json '{"prefixes": [{"IP": "2001:db8::", "Mask": "AAAA"}]}' 'dhcp6/wire/lease.json: prefixes[0].Mask: "AAAA" is not the base64 of a 16-byte IPv6 mask'
bad dhcp6/wire/lease.json '{"prefixes": "2001:db8::/48"}' 'dhcp6/wire/lease.json: prefixes: "2001:db8::/48" is a string, expected an array'

# Everything derived from interfaces.json stays exactly as the kernel has
# it while that file is invalid: the hairpin rule and the LAN exclusion
# (lan0's prefix), the uplink's name in masquerade and MSS clamping, its
# accept_ra sysctl, resolv.conf. Drift that a valid file would repair (a
# symlinked resolv.conf, accept_ra changed) is left alone too.
everything() {
  ruleset "$R"
  ip -n "$R" -o addr show
  ip -n "$R" route show table all
  ip -n "$R" -6 route show table all
  ip netns exec "$R" sysctl -a 2>/dev/null | grep -E 'forwarding|accept_ra |ratelimit'
  ls -l "$ROOT/tmp/resolv.conf" | awk '{print $1, $NF}'
  cat "$ROOT/tmp/resolv.conf" 2>&1
}
# frozen CONTENT: apply an invalid interfaces.json with nothing else changed
frozen() {
  cp -r "$GOOD/." "$CFG/"
  rm -f "$ROOT/tmp/resolv.conf"
  nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1
  echo "nameserver 192.0.2.53" >"$WORK/resolv.other"
  ln -sfn "$WORK/resolv.other" "$ROOT/tmp/resolv.conf"
  ip netns exec "$R" sysctl -qw net.ipv6.conf.uplink0.accept_ra=0
  wait_until 5000 dad_done "$R"
  local before; before=$(everything)
  if [ -z "$1" ]; then : >"$CFG/interfaces.json"; else write "$CFG/interfaces.json" "$1"; fi
  status "invalid interfaces.json [${1: -45}]: apply exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
  local after; after=$(everything)
  if [ "$after" = "$before" ]; then pass "invalid interfaces.json [${1: -45}]: ruleset, addresses, routes, sysctls, resolv.conf byte-identical"
  else fail "invalid interfaces.json [${1: -45}]: the kernel changed:"; diff <(echo "$before") <(echo "$after") | sed 's/^/    /'; fi
}
frozen '{"interfaces": ['
frozen ''
frozen '{"interfaces": {"name": "lan0"}}'
frozen "$I"'"mtu": "1492"}]}'
frozen '{"interfaces": [{"hardware_addr": "02:00:00:00:00:zz", "name": "lan0"}]}'
frozen "$I"'"addr": "10.10.0.300/24"}]}'
frozen "$I"'"addr": "10.10.0.1/40"}]}'
frozen "$I"'"addr": "10.10.0.1/33"}]}'
frozen "$I"'"extra_addrs": ["10.20.0.1/24"]}, {"name": "averyveryverylong0"}]}'
frozen "$I"'"mtu": 70000}]}'
contains "the frozen ruleset kept the hairpin rule with lan0's prefix" "$(ruleset "$R")" \
  'oifname "lan0" ip saddr 10.10.0.0/24 ct status 0x20 masquerade'

# A config directory that is not there (/perm not mounted at boot) is an
# error for the whole run, not a config that declares nothing.
cp -r "$GOOD/." "$CFG/"
nk "$R" apply --config "$CFG" --root "$ROOT" >/dev/null 2>&1
before=$(everything)
status "apply --config of a missing directory exits 1" 1 nk "$R" apply --config "$WORK/not-mounted" --root "$ROOT"
contains "and names it" "$(cat "$WORK/err")" "config directory $WORK/not-mounted: No such file or directory; nothing done"
equals "nothing changed" "$(everything)" "$before"
status "plan --config of a missing directory exits 1" 1 nk "$R" plan --config "$WORK/not-mounted" --root "$ROOT"
# A dangling symlink, a FIFO or a device in place of a file is unreadable
# (an error, what it governs frozen), not absent.
for odd in dangling fifo device; do
  rm -f "$CFG/portforwardings.json"
  case $odd in
    dangling) ln -s "$WORK/nowhere" "$CFG/portforwardings.json" ;;
    fifo) mkfifo "$CFG/portforwardings.json" ;;
    device) ln -s /dev/zero "$CFG/portforwardings.json" ;;
  esac
  status "portforwardings.json as a $odd: apply exits 1, without waiting" 1 \
    timeout 10 ip netns exec "$R" "$NETKEEP" apply --config "$CFG" --root "$ROOT"
  contains "portforwardings.json as a $odd: the error names the file" "$(cat "$WORK/err")" "portforwardings.json: cannot read: "
  equals "portforwardings.json as a $odd: the forwardings stay" "$(everything)" "$before"
done
rm -f "$CFG/portforwardings.json"

# An unknown key is a warning: exit 0, and the file applies.
cp -r "$GOOD/." "$CFG/"
write "$CFG/interfaces.json" "$I"'"addr": "10.10.0.1/24", "colour": "blue"}]}'
status "unknown key: apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "unknown key: a warning names it" "$(cat "$WORK/err")" "warning: interfaces.json: interfaces[1].colour: unknown key, ignored"

# plan also reports the error and exits 1.
write "$CFG/interfaces.json" "$I"'"mtu": 70000}]}'
status "plan with a bad file exits 1" 1 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
