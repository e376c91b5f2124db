#!/usr/bin/env bash
# A 40-second soak of the daemon (hardening issue), through tools/soak:
# random config edits, drift of owned objects and daemon restarts (SIGTERM
# and SIGKILL); after each step the forwarding maps equal the config, a
# plan has nothing to do, and another program's table, address and route
# are untouched. The seed is printed; `tools/soak --seed N` replays a run.
source "$(dirname "$0")/lib.sh"
"$(dirname "$0")/../../tools/soak" --netkeep "$NETKEEP" --seconds 40
