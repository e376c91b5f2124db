#!/usr/bin/env bash
# Install (issue 16): `cmake --install` with --prefix and with DESTDIR puts
# the binary, the systemd unit (naming that binary), netkeep(8),
# netkeep-config(5), the bash completion and the README in place; systemd-analyze accepts the unit; the
# man page renders cleanly and, like the completion and docs/operating.md, names
# every flag that --help lists. Installs into a temporary directory only.
set -u
NETKEEP=$1 BUILD=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }
check() { local d=$1; shift; if "$@" >"$T/out" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/    /' "$T/out" | head -20; fi; }

P=$T/prefix
check "cmake --install --prefix" cmake --install "$BUILD" --prefix "$P"
for f in sbin/netkeep lib/systemd/system/netkeep.service share/man/man8/netkeep.8 share/man/man5/netkeep-config.5 \
         share/bash-completion/completions/netkeep share/doc/netkeep/README.md \
         share/doc/netkeep/docs/operating.md share/doc/netkeep/docs/config.md; do
  check "installs $f" test -s "$P/$f"
done
check "the installed binary runs" "$P/sbin/netkeep" --version
check "the unit starts the installed binary" grep -qxF "ExecStart=$P/sbin/netkeep run --config /perm --metrics 127.0.0.1:8066" "$P/lib/systemd/system/netkeep.service"
if command -v systemd-analyze >/dev/null; then
  check "systemd-analyze verify accepts the unit" env MANPATH="$P/share/man" systemd-analyze verify "$P/lib/systemd/system/netkeep.service"
  sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/netkeep|' "$P/lib/systemd/system/netkeep.service" >"$T/broken.service"
  if env MANPATH="$P/share/man" systemd-analyze verify "$T/broken.service" >/dev/null 2>&1; then
    bad "systemd-analyze verify refuses a unit whose binary is missing (the check can fail)"
  else ok "systemd-analyze verify refuses a unit whose binary is missing (the check can fail)"; fi
else
  echo "skip - systemd-analyze verify: systemd-analyze is not installed"
fi

# Debian's DHCP clients for netkeep (issue 24): dhcpcd's config and script,
# its unit, udhcpc's script; nothing in dhcpcd's own hook directory.
for f in share/netkeep/dhcpcd.conf lib/systemd/system/netkeep-dhcpcd.service; do
  check "installs $f" test -s "$P/$f"
done
for f in libexec/netkeep/dhcpcd-script libexec/netkeep/udhcpc-script; do
  check "installs $f, executable" test -x "$P/$f"
done
check "dhcpcd's config: noconfigure" grep -qx noconfigure "$P/share/netkeep/dhcpcd.conf"
check "dhcpcd's config names the installed script" grep -qxF "script $P/libexec/netkeep/dhcpcd-script" "$P/share/netkeep/dhcpcd.conf"
check "dhcpcd's script runs the installed netkeep" grep -qxF "exec $P/sbin/netkeep lease --config /perm dhcpcd" "$P/libexec/netkeep/dhcpcd-script"
check "udhcpc's script runs the installed netkeep" grep -qxF "exec $P/sbin/netkeep lease --config /perm udhcpc \"\$1\"" "$P/libexec/netkeep/udhcpc-script"
check "the dhcpcd unit reads that config" grep -qxF "ExecStart=/usr/sbin/dhcpcd -f $P/share/netkeep/dhcpcd.conf -B uplink0" "$P/lib/systemd/system/netkeep-dhcpcd.service"
check "nothing installed into dhcpcd's hook directory" test -z "$(find "$P" -path '*dhcpcd-hooks*')"

D=$T/destdir
check "DESTDIR install for packaging" env DESTDIR="$D" cmake --install "$BUILD" --prefix /usr
check "DESTDIR: the binary under DESTDIR" test -x "$D/usr/sbin/netkeep"
check "DESTDIR: the unit names the final path" grep -qxF "ExecStart=/usr/sbin/netkeep run --config /perm --metrics 127.0.0.1:8066" "$D/usr/lib/systemd/system/netkeep.service"

MAN=$P/share/man/man8/netkeep.8
if command -v groff >/dev/null; then
  check "the man page renders without warnings" bash -c "groff -man -ww -z '$MAN' 2>&1 | (! grep .)"
  TEXT=$(groff -man -Tutf8 -P-cbou "$MAN" 2>/dev/null | sed 's/‐/-/g; s/−/-/g')
else
  echo "skip - man page rendering: groff is not installed"
  TEXT=$(sed 's/\\-/-/g' "$MAN")
fi
for section in NAME SYNOPSIS OPTIONS COMMANDS FILES "EXIT STATUS"; do
  if grep -q "^$section" <<<"$TEXT"; then ok "man: section $section"; else bad "man: section $section"; fi
done
COMPLETION=$P/share/bash-completion/completions/netkeep
for cmd in plan apply show run doctor confirm lease; do
  # The flags of the command's usage lines (its first paragraph).
  flags=$("$NETKEEP" "$cmd" --help | sed '/^$/q' | grep -oE -- '--[a-z][a-z-]+' | sort -u)
  before=$FAILED
  [ -n "$flags" ] || bad "$cmd --help lists flags"
  for f in $flags --help; do
    grep -qF -- "$f" <<<"$TEXT" || bad "man page lacks $cmd $f"
    grep -qF -- "$f" "$SRC/docs/operating.md" || bad "docs/operating.md lacks $cmd $f"
    grep -qE -- "^ +$cmd\) flags=.*$f( |\")" "$COMPLETION" || bad "completion lacks $cmd $f"
  done
  [ "$FAILED" = "$before" ] &&
    ok "$cmd: every flag of --help is in the man page, docs/operating.md and the completion ($(echo $flags | wc -w))"
done
for f in interfaces.json portforwardings.json wireguard.json dhcp4/wire/lease.json dhcp6/wire/lease.json \
         tmp/resolv.conf run/netkeep/nft-view run/netkeep/lock-net run/netkeep/confirm-net; do
  grep -qF -- "$f" <<<"$TEXT" || bad "man page lacks the file $f"
done
ok "man: every config file and every file netkeep writes"

# netkeep-config(5), written from docs/config.md at build time: renders
# cleanly, and names every key the config parsers read (model/config_*.cpp:
# the keys an Object getter or a read_* helper is asked for).
MAN5=$P/share/man/man5/netkeep-config.5
if command -v groff >/dev/null; then
  check "netkeep-config(5) renders without warnings" bash -c "groff -man -ww -z '$MAN5' 2>&1 | (! grep .)"
fi
for section in NAME DESCRIPTION INTERFACES.JSON PORTFORWARDINGS.JSON FIREWALL.JSON WIREGUARD.JSON "SEE ALSO"; do
  grep -q "^\.SH \"\?$section" "$MAN5" || bad "netkeep-config(5): no section $section"
done
keys=$(grep -ohE '(\b(string|integer|boolean|array|raw)\(|\(\*?[a-z]+, )"[A-Za-z_0-9]+"' "$SRC"/model/config_*.cpp |
  sed -E 's/.*"([A-Za-z_0-9]+)"$/\1/' | sort -u)
page=$(sed 's/\\f[BRI]//g; s/\\-/-/g' "$MAN5")
missing=""
for k in $keys; do grep -qw -- "$k" <<<"$page" || missing="$missing $k"; done
if [ "$(echo $keys | wc -w)" -lt 30 ]; then bad "netkeep-config(5): the parsers' keys were not found ($(echo $keys | wc -w))"
elif [ -n "$missing" ]; then bad "netkeep-config(5) lacks keys the parsers read:$missing"
else ok "netkeep-config(5): every key the parsers read is on it ($(echo $keys | wc -w))"; fi

# The completion, as bash runs it.
complete_words() {  # complete_words WORD...: what the completion offers for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _netkeep; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@"
}
check "completion: bash reads it" bash -n "$COMPLETION"
[ "$(complete_words netkeep pl)" = plan ] && ok "completion: commands" || bad "completion: commands ($(complete_words netkeep pl))"
[ "$(complete_words netkeep apply --pl)" = --plan ] && ok "completion: a command's flags" || bad "completion: a command's flags"
[ -z "$(complete_words netkeep confirm --conf)" ] && ok "completion: only the command's own flags" || bad "completion: only the command's own flags"
mkdir -p "$T/cfgdir"
[ "$(complete_words netkeep plan --config "$T/cfg")" = "$T/cfgdir" ] && ok "completion: --config takes a directory" || bad "completion: --config takes a directory"
touch "$T/saved.plan"
[ "$(complete_words netkeep apply --plan "$T/saved.")" = "$T/saved.plan" ] && ok "completion: --plan takes a file" || bad "completion: --plan takes a file"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
