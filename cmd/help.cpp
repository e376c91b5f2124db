#include "cmd/help.hpp"

namespace netkeep {

const char* const kUsage =
    R"(netkeep keeps a Linux router's network configuration equal to its config files.

Usage:
  netkeep plan  [--config DIR] [--root DIR] [--json | --nft] [--check] [--out FILE]
                                                       show what apply would change
  netkeep apply [--config DIR] [--root DIR] [--json] [--stats] [--plan FILE]
                [--confirm SECONDS [--check CHECK]...]
                                                       change it
  netkeep confirm [--root DIR] [--status | --rollback] keep (or undo) a change
                                                       applied with --confirm
  netkeep show  [--config DIR] [--root DIR] [--json]   show the state netkeep manages
  netkeep doctor [--config DIR] [--root DIR] [--json]  find what keeps the config from working
  netkeep lease [--config DIR] dhcpcd | udhcpc EVENT   a DHCP client's script
  netkeep run   [--config DIR] [--root DIR] [--metrics HOST:PORT] [--notify-pidfile PATH]...
                [--resync SECONDS] [--log-queue LINES] [--confirm SECONDS --check CHECK...]
  netkeep --version
  netkeep COMMAND --help

Options:
  --config DIR   directory of interfaces.json, dhcp4/wire/lease.json, ... (default /perm)
  --root DIR     prefix for files netkeep writes, e.g. ROOT/tmp/resolv.conf and
                 ROOT/run/netkeep/nft-view (default /)
  --json         machine-readable output
  --nft          (plan) print the nftables ops as an `nft -f` script
  --check        (plan) also have the kernel validate the nftables batch, committing nothing
  --stats        (apply) count the netlink requests sent, reads and writes,
                 and time each step
  --out FILE     (plan) also save the plan, with a fingerprint of what it was
                 computed from, for apply --plan
  --plan FILE    (apply) perform exactly the saved plan, or nothing (exit 3)
                 when anything it was computed from changed
  --confirm SECONDS
                 (apply, run) roll a change back after SECONDS unless confirmed
  --check CHECK  (apply, run) a health check that confirms a change when it passes
                 (ping:IP, tcp:HOST:PORT, exec:COMMAND; repeatable)

netkeep works on the network namespace it runs in: ip netns exec NS netkeep plan
)";

const std::map<std::string, std::string> kCommandHelp = {
    {"plan",
     R"(Usage: netkeep plan [--config DIR] [--root DIR] [--json | --nft] [--check] [--out FILE]

Reads the config files and the kernel's state and prints the ops that
`apply` would perform, one a line. Changes nothing. Port forwardings are
shown as forwardings, one line per port interval a forwarding wins (an
earlier forwarding takes the ports it shares with a later one, as in
router7):
  + forward tcp 8080 -> 10.10.0.23:80
  ~ forward udp 53: -> 10.10.0.98:53 (was 10.10.0.99:53)
  - forward tcp 6000-6010 -> 10.10.0.99:6000-6010
A forwarding that moves or goes also ends the flows in flight its old
destination gets: their conntrack entries, which would otherwise keep
steering a stream that never pauses to the old host. plan counts them:
  ~ conntrack udp 53 -> 10.10.0.99:53: 1 flow in flight will move
With --check the nftables ops are also sent to the kernel as a batch
without its commit: the kernel validates every message and aborts, proving
it would accept them.

With --nft only the nftables ops are printed, as a script that `nft -f`
loads in one transaction (links, addresses, routes, sysctls, files and
conntrack are left out): to read the change in nft's words, or to hand it
to `nft -c -f` for the kernel's opinion. Rules are deleted by handle, so
the script is for the kernel state it was planned from.

With --out FILE the plan is also saved (mode 0600), with a fingerprint of
what it was computed from: each config file's contents and each kind of
object netkeep manages as the kernel holds it. `netkeep apply --plan FILE`
then performs exactly these ops, or nothing.

Exit status: 0 nothing to do, 2 changes pending, 1 error (e.g. a config file
that fails to validate; the error names the file, the JSON path and the value).
)"},
    {"apply", R"(Usage: netkeep apply [--config DIR] [--root DIR] [--json] [--stats] [--plan FILE]
                     [--confirm SECONDS [--check CHECK]...]

Plans as `netkeep plan` does and performs the ops, printing each one done.
Right after the nftables transaction commits, the conntrack entries the
old DNAT of a changed or removed forwarding made are deleted, one by one
(never a flush): a UDP stream moves to the new destination, or stops; a
TCP connection ends, its peer getting a reset from the new host (or from
the router, where nothing listens now), unless portforwardings.json says
"keep_tcp": true. How many were deleted is printed ("flows in flight
ended") and counted in netkeep_conntrack_deleted_total.
A config file with an error contributes nothing and what it governs is left
as it is; the other files still apply. A failing op is reported and the ops
that do not depend on it still run.

--stats prints the requests sent, split into reads and writes, for
rtnetlink and nftables (and conntrack's), and the time each step took: reading the config,
reading the kernel, planning, writing (with --json: "stats" and
"times_ms" objects).

--plan FILE performs a plan saved by `netkeep plan --out FILE`, exactly:
if a config file changed since, or the kernel's state of what netkeep
manages (another program's nftables tables do not count), or the plan
computed now differs from the saved one, nothing is done and the exit
status is 3, with `plan is stale: <what changed>`. If the kernel refuses
its nftables batch because another program committed meanwhile (after
its link, address and route ops were applied), the rest is planned again
and performed only if it is exactly the saved plan's rest; otherwise the
ops applied are listed, the rest is not done, and the exit status is 1.

--confirm SECONDS applies, then waits for confirmation: Enter on this
terminal, `netkeep confirm` from any shell, or the health checks. When
the time is up unconfirmed, netkeep rolls back: every object the change
touched (links, owned addresses and routes, sysctls, owned nftables
objects in one transaction, keeping their counters, resolv.conf) is put
back as it was before the apply; nothing else is touched. SIGHUP (the
session that started it ended), SIGINT and SIGTERM roll back at once. The
rollback is kept in a journal under ROOT/run/netkeep/ and carried out by
a watchdog process of its own, so it happens by the deadline even if the
apply is killed. While a change waits, another apply or run is refused.
WireGuard devices and FEC modes are not rolled back; nftables tables and
counters the change created stay, empty.

--check CHECK (repeatable, with --confirm) runs after the apply and again
until the deadline: all passing 3 times in a row confirms; a check that
has not passed once in the first half of the window rolls back then.
  ping:IP          an ICMP echo answered within 1 s
  tcp:HOST:PORT    a TCP connection accepted within 2 s ([IPv6]:PORT)
  exec:COMMAND     /bin/sh -c COMMAND exits 0 within 5 s
Each result is printed when it changes, with what the check saw.

The owned nftables rules and map elements are kept in
ROOT/run/netkeep/nft-view with the ruleset generation they belong to;
while the kernel reports that generation nothing changed, and they are not
dumped again. The file is only believed in the boot and network namespace
that wrote it, and deleting it is always safe.

Only one apply or run works on a root and network namespace at a time
(a lock in ROOT/run/netkeep/): another waits up to 10 s, then gives up
naming the holder. A --config directory that does not exist is an error:
nothing is done.

Exit status: 0 converged (with --confirm: and confirmed, or nothing
changed), 1 some part failed (every error is listed; with --confirm what
was applied is rolled back), the config directory is missing, another
netkeep kept the lock, a change is waiting for confirmation, or the saved
plan cannot be read; 3 the saved plan is stale (nothing done); 4 the
change was rolled back (with --confirm).
)"},
    {"confirm", R"(Usage: netkeep confirm [--root DIR] [--status | --rollback]

For a change applied with `netkeep apply --confirm SECONDS` and waiting:
keeps it (no flag), says what is pending, until when and what it touches
(--status), or rolls it back now (--rollback). Works from any shell on the
same root and network namespace.

Exit status: 0 done (--status: always, when the journal can be read);
1 nothing is waiting for confirmation, or the rollback failed.
)"},
    {"show", R"(Usage: netkeep show [--config DIR] [--root DIR] [--json]

Prints the kernel's state of every object netkeep manages: links,
addresses, main-table routes, sysctls, files, and each port forwarding with
the connections it forwarded and their packets and bytes in both
directions; and each DHCP lease as its file in DIR says, with the time it
has left (a lease past its time is said, not acted on: the DHCP client is
the authority). --json prints a snapshot that tests can load back, with the
owned nftables objects as the kernel holds them and the counters on the
forwarding map elements, and a "leases" member: for dhcp4 and dhcp6 its
"state" (missing, invalid, ended, in force), "address" and "router" or
"prefixes", "valid_until" and "seconds_left".
)"},
    {"doctor", R"(Usage: netkeep doctor [--config DIR] [--root DIR] [--json]

Reads the config and the kernel (it writes nothing) and reports what keeps
the config from working, one finding each, with its severity, what was
seen and what to do:
  - another program's base chain on a hook netkeep uses: a forward-hook
    policy drop (docker's), an input-hook policy drop before netkeep's
    chain, a prerouting DNAT or redirect of a port netkeep forwards (which
    wins if it runs first);
  - a router-wide sysctl netkeep sets that someone changed back;
  - rp_filter strict on uplink0 while routes are asymmetric;
  - br_netfilter passing a bridged lan0's traffic through the ip hooks;
  - changes pending between the config and the kernel; a config file that
    fails to validate;
  - a forwarding whose destination is on no connected network;
  - a DHCP lease past its time that no client renewed or ended; no DHCPv4
    lease file while uplink0 has no address; a DHCP client configuring
    uplink0 itself beside netkeep.
--json prints {"findings": [{"severity", "what", "fix"}, ...]}.

Exit status: 0 nothing found, 2 warnings only, 1 an error (or the kernel
could not be read).
)"},
    {"lease", R"(Usage: netkeep lease [--config DIR] dhcpcd
       netkeep lease [--config DIR] udhcpc EVENT

The script a DHCP client calls: dhcpcd's `script` (its event in $reason;
run dhcpcd with `noconfigure`), or udhcpc's `-s` (EVENT is its first
argument). It writes router7's lease files, DIR/dhcp4/wire/lease.json and
DIR/dhcp6/wire/lease.json, atomically (beside, fsync, rename); `netkeep
run` sees the rename and puts the address and routes in place. The client
only negotiates: netkeep is the one writer of addresses and routes.
  dhcpcd BOUND RENEW REBIND REBOOT       the DHCPv4 lease
  dhcpcd BOUND6 RENEW6 REBIND6 REBOOT6  the delegated prefixes (ia_pd)
  dhcpcd EXPIRE RELEASE NAK             the DHCPv4 lease ended
  dhcpcd EXPIRE6 RELEASE6               the DHCPv6 lease ended
  udhcpc bound renew                    the DHCPv4 lease
  udhcpc nak                            the DHCPv4 lease ended
  udhcpc deconfig leasefail             ended, if this udhcpc run bound it
Other events (PREINIT, CARRIER, STOP, ...) write nothing: a lease stays in
force across a client restart. An ended lease is the same file with
"state": "ended", never a deleted one: its address and routes go. A value
that does not parse is an error naming the variable and the value; the
lease files are left as they were (exit status 1).
)"},
    {"run", R"(Usage: netkeep run [--config DIR] [--root DIR] [--metrics HOST:PORT]
                   [--notify-pidfile PATH]... [--resync SECONDS]
                   [--log-queue LINES] [--confirm SECONDS --check CHECK...]

The reconcile daemon. Reconciles at start, then whenever a config file
changes (inotify, including files renamed into place and lease directories
that appear later), on SIGUSR1 or SIGHUP, when the kernel's links,
addresses, routes or nftables ruleset change (netlink events; others'
changes are repaired), and every --resync seconds (default 300). Bursts of
events cost one reconcile. A failed reconcile is retried after 1 s,
doubling to 60 s; any new event retries at once. Flows in flight (see
apply) are found in an index kept from conntrack events, not by reading
the whole conntrack table each time (netkeep_conntrack_dumps_total).

  --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics
  --notify-pidfile PATH   after a reconcile that changed something, send
                          SIGUSR1 to the pid in PATH (repeatable)
  --resync SECONDS        period of the full resync (default 300)
  --log-queue LINES       log lines held while the log's reader is behind
                          (default 1000); past that they are dropped
  --confirm SECONDS       a reconcile that applied a changed config must be
                          confirmed by the checks within SECONDS (as for
                          apply: all passing 3 times in a row), or the daemon
                          goes back to the last good config
  --check CHECK           ping:IP, tcp:HOST:PORT or exec:COMMAND (repeatable;
                          at least one with --confirm)

With --confirm the config that passed its checks is kept as the last good
one in ROOT/var/lib/netkeep/last-good/ (files 0600; the first config the
daemon converges to becomes it). When a check fails, the daemon logs
ROLLBACK naming the check, reconciles to the last good config, and holds
the kernel to it until one of the config files changes again. Metrics:
netkeep_rollbacks_total{reason}, netkeep_confirm_pending,
netkeep_last_good_timestamp_seconds.

Logs go to stderr: a reconcile logs each op it applied and each error, or,
for a large one, the count of ops of each kind and the first 20 (netkeep
show lists what the kernel then holds); errors are listed up to 10 of each
kind, with a count beyond. The daemon never waits on its log: a thread of
its own writes it, and while the reader (journald) is behind, up to
--log-queue lines wait; past that, lines are dropped, counted in
netkeep_log_lines_dropped_total, and one line says how many once the
reader is back. With systemd
(Type=notify), READY=1 is sent after the first reconcile and WATCHDOG=1
when WatchdogSec= is set. SIGTERM or SIGINT: exit 0 after the reconcile in
flight; nothing is torn down, the router keeps routing.
)"},
};

const char* const kFilesHelp =
    R"(Config files, relative to --config (default /perm), as router7 keeps them.
All are optional: a missing file declares nothing. A file that fails to
validate contributes nothing, and what it governs is left as it is.
Every key, default and error: netkeep-config(5).
  interfaces.json         links (taken by MAC or name, renamed, MTU, MAC,
                          bridges), their addresses and routes, FEC
  portforwardings.json    port forwardings from the uplink (DNAT); beside
                          "forwardings", "keep_tcp": true lets TCP
                          connections through a forwarding that moves or
                          goes keep their old destination until they close
  wireguard.json          WireGuard devices and their peers
  firewall.json           protection from the uplink (not router7's):
                          "protect_lan" lets in only what the LAN opened,
                          the forwardings and the "pinholes" (by
                          dest_addr, or dest_iid on the delegated /64,
                          which follows a renumbering); "protect_router"
                          opens the router only to its DHCP replies, ICMP,
                          wireguard.json's ports and "open". Absent:
                          everything is accepted, as router7 does
  dhcp4/wire/lease.json   the DHCPv4 lease: uplink0's address and routes
  dhcp6/wire/lease.json   the DHCPv6 delegated prefix: lan0's address

Files netkeep writes, under --root (default /):
  ROOT/tmp/resolv.conf           "nameserver <lan0's address>"; a regular
                                 file netkeep did not write is left alone
  ROOT/run/netkeep/nft-view      the owned nftables objects as of a ruleset
                                 generation (mode 0600); deleting it is safe
  ROOT/run/netkeep/lock-net<N>   one apply or run per root and network
                                 namespace
  ROOT/run/netkeep/confirm-net<N>/
                                 a change waiting for confirmation: the
                                 state before it (mode 0600), what it
                                 touches, its deadline; watchdog.log
  ROOT/var/lib/netkeep/last-good/
                                 run --confirm: the last good config (0600)
  FILE of plan --out             a saved plan (mode 0600)
)";

const char* const kExitHelp =
    R"(plan:  0 nothing to do; 2 changes pending; 1 error.
apply: 0 converged; 1 some part failed, the config directory is missing,
       another netkeep kept the lock, a change is waiting for
       confirmation, or a saved plan cannot be read; 3 the saved plan is
       stale (nothing done); 4 the change was rolled back (--confirm).
confirm: 0 done; 1 nothing is waiting for confirmation, or the rollback
       failed.
show:  0; 1 the kernel could not be read.
doctor: 0 nothing found; 2 warnings only; 1 an error, or the kernel could
       not be read.
run:   0 after SIGTERM or SIGINT; 1 it could not start.
Every command: 1 for a usage error (an unknown command or flag).
)";

}  // namespace netkeep
