#!/usr/bin/env bash
# WireGuard must-holds 2, 4 and 5 on a kernel without WireGuard: apply names
# the missing support, exits 1 and still applies everything else; FEC on a
# veth link is a warning that leaves the exit status alone; no private key
# appears in any output.
source "$(dirname "$0")/lib.sh"
if kernel_has_wireguard; then
  echo "SKIP: this kernel has WireGuard; test_wireguard_integration covers it"
  exit 77
fi

router_setup
CFG=$(config_from wireguard-new-device)
chmod 644 "$CFG/wireguard.json"
PRIV=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["interfaces"][0]["private_key"])' "$CFG/wireguard.json")
PRIV_HEX=$(base64 -d <<<"$PRIV" | od -An -tx1 | tr -d ' \n')
# lan0 also asks for FEC, which veth does not support.
python3 - "$CFG/interfaces.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for i in c["interfaces"]:
    if i["name"] == "lan0": i["fec"] = "RS"
json.dump(c, open(sys.argv[1], "w"))
PY

status "apply exits 1" 1 nk "$R" apply --config "$CFG" --root "$ROOT"
OUT="$(cat "$WORK/out" "$WORK/err")"
contains "the error names the missing WireGuard support" "$OUT" "wg0: the kernel has no WireGuard support"
contains "the device's settings are skipped, not sent" "$OUT" "skipped: link wg0 is missing"
contains "everything else applied: lan0's address" "$(ip -n "$R" -o addr show dev lan0)" "10.10.0.1/24"
contains "everything else applied: the DHCP default route" "$(ip -n "$R" route show)" "default via 203.0.113.1 dev uplink0 proto dhcp"
contains "everything else applied: the nftables ruleset" "$(forwardings "$R")" "tcp 8080 -> 10.10.0.23:80"
contains "a wireguard.json readable by others is warned about" "$OUT" "wireguard.json: holds private keys but its mode is 0644; chmod 600 it"
contains "FEC on veth is a warning" "$OUT" 'warning: link lan0: the driver does not support FEC; fec "rs" not applied'

# Without WireGuard in the config, the FEC warning alone leaves exit status 0.
mv "$CFG/wireguard.json" "$WORK/wireguard.json"
python3 - "$CFG/interfaces.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["interfaces"] = [i for i in c["interfaces"] if i["name"] != "wg0"]
json.dump(c, open(sys.argv[1], "w"))
PY
status "with only the FEC warning, apply exits 0" 0 nk "$R" apply --config "$CFG" --root "$ROOT"
contains "and still warns" "$(cat "$WORK/err")" "does not support FEC"
status "plan exits 0: a warning is not a change" 0 nk "$R" plan --config "$CFG" --root "$ROOT"
write "$CFG/interfaces.json" '{"interfaces": [{"hardware_addr": "02:00:00:00:00:02", "name": "lan0", "fec": "turbo"}]}'
status "an unknown FEC mode is rejected" 1 nk "$R" plan --config "$CFG" --root "$ROOT"
contains "naming the value" "$(cat "$WORK/err")" 'interfaces.json: interfaces[0].fec: "turbo" is not a FEC mode'

# No private key in any output.
mv "$WORK/wireguard.json" "$CFG/wireguard.json"
all=""
for cmd in "plan" "plan --json" "apply" "apply --json" "show" "show --json"; do
  nk "$R" $cmd --config "$CFG" --root "$ROOT" >"$WORK/o" 2>&1 || true
  all+="$(cat "$WORK/o")"
done
write "$CFG/wireguard.json" '{"interfaces": [{"name": "wg0", "private_key": "not-a-key", "peers": []}]}'
nk "$R" apply --config "$CFG" --root "$ROOT" >"$WORK/o" 2>&1 || true
all+="$(cat "$WORK/o")"
contains "the bad key is reported without its value" "$(cat "$WORK/o")" "private_key: is not the base64 of 32 bytes (value hidden)"
lacks "no output shows the private key (base64)" "$all" "$PRIV"
lacks "no output shows the private key (hex)" "$all" "$PRIV_HEX"
lacks "nor a rejected one" "$all" "not-a-key"
finish
