#!/usr/bin/env bash
# The Debian package (issue 16): tools/package builds it with Debian's own
# tooling and lintian finds no error; its control fields and file list are
# as intended, its unit is neither enabled nor started by its maintainer
# scripts, it depends on runtime libraries only, and the packaged binary
# runs from an extracted tree. Nothing is installed on this machine.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }
if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null || ! command -v lintian >/dev/null; then
  echo "skip - the Debian package: dpkg-buildpackage, debhelper or lintian is not installed (tools/deps --package)"
  exit 77
fi
# Unoptimised and without debug information, to be quick: the test
# is of the packaging, not of the compiler. For the same reason clang,
# where it is installed (tools/deps installs it for the sanitized build):
# at -O0 it compiles the product in 80 CPU seconds where g++ takes 130
# (debhelper hands CXX to CMake). The package itself builds with g++.
BUILD_ENV=(DEB_BUILD_OPTIONS="noopt noddebs" DEB_CXXFLAGS_APPEND=-g0)
if command -v clang++ >/dev/null; then BUILD_ENV+=(CXX=clang++); fi
if DEB=$(env "${BUILD_ENV[@]}" "$SRC/tools/package" "$T/out" 2>"$T/lintian"); then ok "tools/package builds it; lintian finds no error"; else
  bad "tools/package"; sed 's/^/    /' "$T/lintian" | tail -30
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = netkeep ] && ok "Package: netkeep" || bad "Package: $(field Package)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] && ok "Architecture: $(field Architecture)" || bad "Architecture"
[ "$(field Section)" = net ] && ok "Section: net" || bad "Section: $(field Section)"
DEPENDS=$(field Depends)
for lib in libmnl0 libnftnl11 libstdc++6 libc6; do
  grep -q "\b$lib\b" <<<"$DEPENDS" && ok "depends on $lib" || bad "depends on $lib: $DEPENDS"
done
grep -qE -- '-dev\b|cmake|debhelper' <<<"$DEPENDS" && bad "depends on build tools: $DEPENDS" || ok "depends on runtime libraries only"
FILES=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/sbin/netkeep ./usr/lib/systemd/system/netkeep.service ./usr/share/man/man8/netkeep.8.gz \
         ./usr/share/man/man5/netkeep-config.5.gz \
         ./usr/share/bash-completion/completions/netkeep ./usr/share/doc/netkeep/README.md.gz \
         ./usr/share/doc/netkeep/copyright ./usr/share/netkeep/dhcpcd.conf \
         ./usr/libexec/netkeep/dhcpcd-script ./usr/libexec/netkeep/udhcpc-script \
         ./usr/lib/systemd/system/netkeep-dhcpcd.service; do
  grep -qxF "$f" <<<"$FILES" && ok "ships $f" || bad "ships $f"
done
grep -qE '^\./usr/(include|lib/.*\.a$)' <<<"$FILES" && bad "ships headers or static libraries" || ok "ships no headers or static libraries"
dpkg-deb -e "$DEB" "$T/control"
if grep -qsE 'deb-systemd-invoke .*start|systemctl .*(start|enable)|deb-systemd-helper enable' "$T/control/postinst"; then
  bad "the maintainer scripts enable or start the unit:"; sed 's/^/    /' "$T/control/postinst"
else ok "the unit is neither enabled nor started on install"; fi
dpkg-deb -x "$DEB" "$T/root"
V=$("$T/root/usr/sbin/netkeep" --version 2>&1) && grep -q "^netkeep $(dpkg-deb -f "$DEB" Version)" <<<"$V" &&
  ok "the packaged binary runs: $V" || bad "the packaged binary runs: $V"
grep -qxF "ExecStart=/usr/sbin/netkeep run --config /perm --metrics 127.0.0.1:8066" "$T/root/usr/lib/systemd/system/netkeep.service" &&
  ok "the packaged unit starts /usr/sbin/netkeep" || bad "the packaged unit's ExecStart"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
