#!/usr/bin/env bash
# WireGuard with a kernel that has it: the device is created and set, and a
# second apply changes nothing. Skips with the reason on kernels without it.
source "$(dirname "$0")/lib.sh"
if ! kernel_has_wireguard; then
  echo "SKIP: this kernel has no WireGuard (ip link add type wireguard fails); integration not run"
  exit 77
fi
router_setup
CFG=$(config_from wireguard-new-device)
status "apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "wg0 exists" "$(ip -n "$R" -d link show dev wg0)" "wireguard"
contains "listening on the configured port" "$(nk "$R" show --json --root "$ROOT")" '"listen_port": 51820'
status "a second plan is empty" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
finish
