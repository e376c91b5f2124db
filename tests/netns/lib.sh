# Helpers for kernel tests. Each test makes its own namespaces, named with a
# tag unique to the run, and deletes them on exit, pass or fail.
#   source lib.sh; NETKEEP=$1
set -u
NETKEEP=$(realpath "$1")
TESTDATA=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../../testdata")
PASSED=0
FAILED=0
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: kernel tests need root to create network namespaces"
  exit 77
fi
# Unique per run: pids are reused (pid_max may be 32768).
TAG="nk$$x$RANDOM"
WORK=$(mktemp -d)
# new_ns runs in $(...) subshells, so the namespaces are found by their tag
# at exit, not remembered in a variable.
# Background daemons go first: one that still runs in a mount namespace of
# its own (dhcpcd's private /run) holds a copy of the namespace files, and
# `ip netns del` then fails with EBUSY and leaves the name behind.
cleanup() {
  local jobs; jobs=$(jobs -p)
  for job in $jobs; do kill "$job" 2>/dev/null; done
  for _ in $(seq 1 50); do
    local alive=0
    for job in $jobs; do kill -0 "$job" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for job in $jobs; do kill -9 "$job" 2>/dev/null; done
  ip netns list | awk '{print $1}' | grep "^$TAG-" | while read -r ns; do
    # What a job left behind in it (a server's forked child) goes too.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do ip netns del "$ns" 2>/dev/null && break; sleep 0.2; done
    ip netns list | awk '{print $1}' | grep -qx "$ns" && echo "warning: namespace $ns could not be deleted" >&2
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

new_ns() {  # new_ns NAME: creates namespace "$TAG-NAME", prints its name
  local ns="$TAG-$1"
  if ! ip netns add "$ns"; then
    echo "cannot create namespace $ns" >&2
    exit 1
  fi
  ip -n "$ns" link set lo up
  echo "$ns"
}

# veth LINK_NS NAME MAC PEER_NS: a link NAME with MAC in LINK_NS whose peer
# sits (up) in PEER_NS, so the link has carrier when it is set up.
veth() {
  local peer="p$RANDOM$RANDOM"
  ip -n "$1" link add name "$2" address "$3" type veth peer name "${peer:0:15}" netns "$4"
  ip -n "$4" link set "${peer:0:15}" up
}

nk() {  # nk NS ARGS...: run netkeep inside NS
  local ns=$1; shift
  ip netns exec "$ns" "$NETKEEP" "$@"
}

# A sanitized build runs several times slower, so timing bounds are looser
# there (within). gcc's ASan links libasan; clang's carries its runtime
# inside. Asked once: the binary is large.
SANITIZED=0
if ldd "$NETKEEP" 2>/dev/null | grep -q libasan || grep -qa __asan_init "$NETKEEP"; then
  SANITIZED=1
fi
sanitized() { [ "$SANITIZED" = 1 ]; }

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
# A failure is also noted in a file, so that one in a $(...) subshell
# (monitor_stop's) still fails the test.
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1" | tee -a "$WORK/failures"; }

# check DESC COMMAND...: passes when the command succeeds
check() {
  local desc=$1; shift
  if "$@" >/dev/null 2>&1; then pass "$desc"; else fail "$desc"; fi
}
# contains DESC HAYSTACK NEEDLE (grep -F on lines)
contains() {
  if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: no \"$3\" in:"; sed 's/^/    /' <<<"$2"; fi
}
lacks() {
  if grep -qF -- "$3" <<<"$2"; then fail "$1: unexpected \"$3\" in:"; sed 's/^/    /' <<<"$2"; else pass "$1"; fi
}
equals() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected \"$3\", got \"$2\""; fi
}
# status DESC EXPECTED COMMAND...: the command's exit status
status() {
  local desc=$1 want=$2; shift 2
  local got=0
  "$@" >"$WORK/out" 2>"$WORK/err" || got=$?
  if [ "$got" = "$want" ]; then pass "$desc"; else
    fail "$desc: exit $got, expected $want"; sed 's/^/    /' "$WORK/out" "$WORK/err"
  fi
}

config_from() {  # config_from CASE: copy testdata/CASE/config to a fresh dir, print it
  local dir="$WORK/config-$RANDOM"
  mkdir -p "$dir"
  cp -r "$TESTDATA/$1/config/." "$dir/"
  echo "$dir"
}

finish() {
  [ -f "$WORK/failures" ] && FAILED=$(wc -l <"$WORK/failures")
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}

# The two-link router of the examples: eth3 (02:..:01) and eth4 (02:..:02)
# in namespace $R, their peers in $P. Sets R, P, ROOT.
router_setup() {
  R=$(new_ns router)
  P=$(new_ns peer)
  veth "$R" eth3 02:00:00:00:00:01 "$P"
  veth "$R" eth4 02:00:00:00:00:02 "$P"
  ROOT="$WORK/root"
  mkdir -p "$ROOT/tmp"
}

# router_setup_second: another router like it, in namespace $R2 (peer $P2)
router_setup_second() {
  R2=$(new_ns router2)
  P2=$(new_ns peer2)
  veth "$R2" eth3 02:00:00:00:00:01 "$P2"
  veth "$R2" eth4 02:00:00:00:00:02 "$P2"
}

# confirm_setup: the router $R with eth3 (02:..:01) and eth4 (02:..:02),
# both to the peer $P, which is 10.10.0.2/24 on eth4's side ("lan");
# ROOT, and an empty config dir CFG for lan_config.
confirm_setup() {
  R=$(new_ns router)
  P=$(new_ns peer)
  ip -n "$R" link add name eth3 address 02:00:00:00:00:01 type veth peer name up0 netns "$P"
  ip -n "$R" link add name eth4 address 02:00:00:00:00:02 type veth peer name lan netns "$P"
  ip -n "$P" link set up0 up
  ip -n "$P" link set lan up
  ip -n "$P" addr add 10.10.0.2/24 dev lan
  ROOT="$WORK/root"
  mkdir -p "$ROOT/tmp"
  CFG="$WORK/config"
  mkdir -p "$CFG"
}
lan_config() {  # lan_config LAN0_ADDR [EXTRA_ADDR]: uplink0 = 02:..:01, lan0 = 02:..:02 at LAN0_ADDR, in $CFG
  write "$CFG/interfaces.json" "{\"interfaces\": [
    {\"hardware_addr\": \"02:00:00:00:00:01\", \"name\": \"uplink0\"},
    {\"hardware_addr\": \"02:00:00:00:00:02\", \"name\": \"lan0\", \"addr\": \"$1\"${2:+, \"extra_addrs\": [\"$2\"]}}]}"
}
has_addr() { ip -n "$R" -4 -o addr show dev lan0 2>/dev/null | grep -qF " $1 "; }  # on lan0
lacks_addr() { ! has_addr "$1"; }

write() {  # write FILE CONTENT: atomically, as a DHCP client would
  mkdir -p "$(dirname "$1")"
  printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1"
}

# ruleset NS: `nft -n list ruleset` with counter values zeroed and without
# the view's stamp chain in `ip netkeep` (its comment is random)
ruleset() {
  ip netns exec "$1" nft -n list ruleset | sed -E 's/packets [0-9]+ bytes [0-9]+/packets 0 bytes 0/' |
    awk 'held { held = 0; if ($0 != "\tchain view {") print "" }
         /^$/ && !skip { held = 1; next }
         /^\tchain view \{$/ { skip = 1 }
         !skip { print }
         skip && /^\t\}$/ { skip = 0 }
         END { if (held) print "" }'
}

# forwardings NS: the forwarding maps' elements, a line each in plan's
# words: "tcp 8080 -> 10.10.0.23:80"
forwardings() {  # single ports (a hash map), then ranges (interval maps)
  local p
  for p in tcp tcp-ranges tcp-ranges-to-port udp udp-ranges udp-ranges-to-port; do
    ip netns exec "$1" nft list map ip nat "netkeep-portforwardings-$p" 2>/dev/null |
      grep -oE '[0-9-]+ counter packets [0-9]+ bytes [0-9]+ : [0-9.]+ \. [0-9-]+' |
      sed -E "s/^([0-9-]+) counter packets [0-9]+ bytes [0-9]+ : ([0-9.]+) \. ([0-9-]+)\$/${p%%-*} \1 -> \2:\3/"
  done
}

# fw_n N [EXTRA]...: $CFG/portforwardings.json, written atomically: N tcp
# forwardings (ports 1000...), and each port EXTRA in their middle
fw_n() {
  python3 - "$@" >"$CFG/.pf" <<'PY'
import json, sys
n = int(sys.argv[1]); extra = sys.argv[2:]
f = [{"port": str(1000 + i), "dest_addr": "10.10.0.%d" % (2 + i % 250), "dest_port": str(1000 + i)} for i in range(n)]
for p in extra:
    f.insert(n // 2, {"port": p, "dest_addr": "10.10.0.9", "dest_port": p})
json.dump({"forwardings": f}, sys.stdout)
PY
  mv "$CFG/.pf" "$CFG/portforwardings.json"
}

# chain_handles NS FAMILY TABLE CHAIN: "handle rule-text" lines
chain_handles() {
  ip netns exec "$1" nft -a -n list chain "$2" "$3" "$4" | sed -nE 's/^\t\t(.*) # handle ([0-9]+)$/\2 \1/p'
}

dad_done() { [ -z "$(ip -n "$1" -6 addr show tentative)" ]; }  # dad_done NS

# Event monitors in the background. A start returns once its monitor
# provably listens: it makes a marker event, again and again, until that
# shows up in FILE. monitor_stop makes an end marker the same way and
# prints the events between the two: everything that happened before the
# end marker was made has been reported by then, however slow the machine.
#   ip_monitor_start NS FILE WHAT...: `ip -o monitor WHAT` (WHAT includes
#     link); the markers are new MTUs of lo (61001... to start, 62001... to
#     end), which nothing else in the tests touches
#   nft_monitor_start NS FILE: `nft monitor`; the markers are tables added
#     and deleted again
ip_monitor_start() {
  local ns=$1 file=$2; shift 2
  ip -n "$ns" -o monitor "$@" >"$file" 2>&1 &
  MONITOR=$! MONITOR_NS=$ns MONITOR_KIND=ip
  monitor_mark "$file" ' lo: .* mtu 61[0-9][0-9][0-9] ' lo_mark "$ns" 61000
}
nft_monitor_start() {
  ip netns exec "$1" nft monitor >"$2" 2>&1 &
  MONITOR=$! MONITOR_NS=$1 MONITOR_KIND=nft
  monitor_mark "$2" '^# new generation' table_mark "$1" netkeep_test_mark  # a transaction's last line
}
lo_mark() { ip -n "$1" link set lo mtu $(($2 + $3)); }  # lo_mark NS BASE N
table_mark() { ip netns exec "$1" nft "add table ip $2; delete table ip $2"; }  # table_mark NS NAME
monitor_mark() {  # monitor_mark FILE PATTERN COMMAND ARGS...: COMMAND gets a count last
  local file=$1 pattern=$2 i; shift 2
  for i in $(seq 1 500); do
    "$@" "$i"
    grep -qE "$pattern" "$file" && break
    sleep 0.01
  done
  grep -qE "$pattern" "$file" || fail "the monitor showed no marker event: it sees nothing"
  MONITOR_FILE=$file
  MONITOR_MARK=$(wc -l <"$file")
}
monitor_stop() {
  local from=$((MONITOR_MARK + 1)) end="" i
  local pattern=' lo: .* mtu 62[0-9][0-9][0-9] '
  [ "$MONITOR_KIND" = nft ] && pattern='netkeep_test_end'
  for i in $(seq 1 500); do
    if [ "$MONITOR_KIND" = nft ]; then table_mark "$MONITOR_NS" netkeep_test_end; else lo_mark "$MONITOR_NS" 62000 "$i"; fi
    end=$(awk -v from="$from" -v pat="$pattern" 'NR >= from && $0 ~ pat { print NR; exit }' "$MONITOR_FILE")
    [ -n "$end" ] && break
    sleep 0.01
  done
  kill "$MONITOR"
  wait "$MONITOR" 2>/dev/null || true
  if [ -z "$end" ]; then
    fail "the monitor showed no end marker: its events may be incomplete"
    end=$(($(wc -l <"$MONITOR_FILE") + 1))
  fi
  # A start marker made twice may have been reported after the count:
  # its lines (and its transaction's generation) are not the test's.
  [ "$end" -gt "$from" ] || return 0
  sed -n "${from},$((end - 1))p" "$MONITOR_FILE" |
    awk '/netkeep_test_mark/ { mark = 1; next }
         mark && /^# new generation/ { mark = 0; next }
         / lo: / { next }
         { mark = 0; print }'
}

local_traffic() {  # local_traffic NS: a few UDP datagrams over loopback (no ping here)
  ip netns exec "$1" bash -c 'for i in 1 2 3 4 5; do echo x >/dev/udp/127.0.0.1/9; done' 2>/dev/null || true
}

now_ms() { local us=${EPOCHREALTIME/./}; echo $((us / 1000)); }  # no fork: cheap and steady under load

# wait_until MS COMMAND...: polls COMMAND every 10 ms until it succeeds
# (status 0) or MS milliseconds have passed (status 1). WAITED is the time
# it took, in ms.
wait_until() {
  local ms=$1; shift
  local start; start=$(now_ms)
  while :; do
    if "$@" >/dev/null 2>&1; then WAITED=$(($(now_ms) - start)); return 0; fi
    if [ $(($(now_ms) - start)) -gt "$ms" ]; then WAITED=$ms; return 1; fi
    sleep 0.01
  done
}

# within MS DESC COMMAND...: passes when COMMAND succeeds within MS
# milliseconds of the call. The plain build is held to MS. Under ASan,
# several times slower and beside the package build in tools/test, the
# bound is three times MS, and the line says so: that run looks for
# memory errors on the same paths, not for the product's latency.
within() {
  local ms=$1 desc=$2; shift 2
  local limit=$ms asan=""
  if sanitized; then limit=$((ms * 3)) asan="; under ASan the bound is $((ms * 3)) ms"; fi
  if wait_until "$limit" "$@"; then pass "$desc ($WAITED ms$asan)"; return 0; fi
  fail "$desc: not within $limit ms"; return 1
}

# listening NS PROTO PORT: a socket in NS is bound to PORT (tcp: listening)
listening() {
  local flags=-Hltn; [ "$2" = udp ] && flags=-Hlun
  [ -n "$(ip netns exec "$1" ss "$flags" "sport = :$3")" ]
}

# daemon_start NS ARGS...: netkeep run in the background; DAEMON is its pid,
# DAEMON_LOG its stderr, each line prefixed with the millisecond it arrived
# (the clock of now_ms). One reader for the whole log, not a process per
# line: the daemon's log is never what a test waits for.
daemon_start() {
  local ns=$1; shift
  DAEMON_LOG="$WORK/daemon.log"
  : >"$DAEMON_LOG"
  ip netns exec "$ns" "$NETKEEP" run "$@" 2> >(exec python3 -c '
import sys, time
with open(sys.argv[1], "ab", buffering=0) as out:
    for line in iter(sys.stdin.buffer.readline, b""):
        out.write(b"%d %s" % (time.time_ns() // 1000000, line))
' "$DAEMON_LOG") &
  DAEMON=$!
}
reconciles() { grep -c 'ops applied' "$DAEMON_LOG" || true; }
# settle: waits until the daemon has run no reconcile for 500 ms; fails
# (and says so) when it has not settled within 25 s.
settle() {
  local n=-1 m
  for _ in $(seq 1 50); do
    m=$(reconciles)
    [ "$m" = "$n" ] && return 0
    n=$m
    sleep 0.5
  done
  fail "the daemon did not settle: it was still reconciling after 25 s ($(reconciles) reconciles)"
  return 1
}

kernel_has_wireguard() {  # in a scratch namespace, so the host is never touched
  local ns; ns=$(new_ns wgprobe)
  ip -n "$ns" link add name wgprobe type wireguard 2>/dev/null
}
