#!/usr/bin/env bash
# SPEC §1's command line: --help on every command, --version, unknown flags
# and commands are errors (exit 1, usage on stderr). Needs no kernel access.
set -u
NETKEEP=$1
PASSED=0 FAILED=0
check() {  # check DESC WANT-STATUS STDOUT-GREP STDERR-GREP -- ARGS...
  local desc=$1 want=$2 out_re=$3 err_re=$4; shift 5
  local out err got=0
  out=$("$NETKEEP" "$@" 2>/tmp/netkeep-cli-err.$$) || got=$?
  err=$(cat /tmp/netkeep-cli-err.$$)
  if [ "$got" = "$want" ] && grep -qE -- "$out_re" <<<"$out" && grep -qE -- "$err_re" <<<"$err"; then
    PASSED=$((PASSED + 1)); echo "ok - $desc"
  else
    FAILED=$((FAILED + 1)); echo "FAIL - $desc: exit $got (want $want)"; echo "  stdout: $out" | head -3; echo "  stderr: $err" | head -3
  fi
}
check "--help" 0 "Usage:" "^$" -- --help
check "--version" 0 "^netkeep [0-9]+\.[0-9]+\.[0-9]+" "^$" -- --version
# Built from a checkout, the version says which commit.
if [ -e "$(dirname "$0")/../../.git" ] && git -C "$(dirname "$0")" rev-parse HEAD >/dev/null 2>&1; then
  check "--version names the commit it was built from" 0 \
    "\(git [^)]*$(git -C "$(dirname "$0")" rev-parse --short=7 HEAD)" "^$" -- --version
fi
for cmd in plan apply show run doctor; do
  check "$cmd --help" 0 "Usage: netkeep $cmd" "^$" -- "$cmd" --help
done
check "no command" 1 "^$" "missing command" --
check "unknown command" 1 "^$" 'unknown command "frobnicate"' -- frobnicate
check "unknown flag" 1 "^$" 'unknown option "--frob" for plan' -- plan --frob
check "usage goes with the error" 1 "^$" "Usage:" -- apply --bogus
check "a flag of another command" 1 "^$" 'unknown option "--metrics" for apply' -- apply --metrics 127.0.0.1:1
check "--check belongs to plan and apply" 1 "^$" 'unknown option "--check" for show' -- show --check
check "apply --check needs a check" 1 "^$" "--check needs ping:IP, tcp:HOST:PORT or exec:COMMAND" -- apply --check
check "apply --check needs --confirm" 1 "^$" "--check needs --confirm SECONDS" -- apply --check ping:10.0.0.1
check "--confirm needs seconds" 1 "^$" "--confirm needs a number of seconds" -- apply --confirm 5s
check "confirm takes no --config" 1 "^$" 'unknown option "--config" for confirm' -- confirm --config /tmp
check "--config needs a value" 1 "^$" "--config needs a directory" -- plan --config
check "--resync needs seconds" 1 "^$" "--resync needs a number" -- run --resync zero
rm -f /tmp/netkeep-cli-err.$$
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
