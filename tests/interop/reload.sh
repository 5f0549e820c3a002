#!/usr/bin/env bash
# Interop: load-all and SIGHUP with a changed configuration update the running SAs in place (docs/operations.md,
# "Reloading the configuration"). Oakley in A initiates to strongSwan 5.9 in B (PSK, namespaces). Each step changes
# Oakley's swanctl.conf, reloads, and checks on both daemons what happened to the IKE SA (its SPIs, which identify
# it on both sides) and the CHILD SA (its SPIs, its algorithm), and that traffic still passes:
#   1 the same file again: nothing changes
#   2 dpd_delay and rekey_time: the IKE SA is updated in place (same SPIs, updated-sas = 1)
#   3 the child's rekey_time lowered to 20 s: the same CHILD SA, rekeyed with strongSwan on the new schedule
#   4 the child's esp_proposals: the CHILD SA is rekeyed to the new algorithm at once, the IKE SA stays
#   5 SIGHUP with a changed dpd_delay: updated in place, logged
#   6 the IKE proposals: the IKE SA is replaced, and start_action = start brings the tunnel back
# Usage: tests/interop/reload.sh [path to oakley.dll, or the native oakley]. Prints PASS/FAIL lines.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=rldA$ID
NB=rldB$ID
RUN=$(mktemp -d /tmp/oakley-reload.XXXXXX)
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NB"
need_tools ip /usr/lib/ipsec/charon swanctl jq ping

make_pair "$NA" "$NB" "rA$ID" "rB$ID" || setup_fail "cannot create namespaces"
mkdir -p "$RUN/sw/swanctl"
psk_conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 reload-test-psk "proposals = aes256gcm16-prfsha256-x25519, aes128gcm16-prfsha256-ecp256" \
  "esp_proposals = aes256gcm16, aes128gcm16" >"$RUN/sw/swanctl/swanctl.conf"
launch_charon "$NB" "$RUN/sw" || setup_fail "charon did not start" "$RUN/sw/charon.out"
on_exit_pid "$CHARON_STARTED"
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/load.out" 2>&1 || setup_fail "swanctl --load-all" "$RUN/load.out"

# conf IKE_PROPOSALS DPD IKE_REKEY CHILD_REKEY ESP: Oakley's file (start_action = start, so a replaced SA comes back).
conf() {
  psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 reload-test-psk \
    "proposals = $1"$'\n'"dpd_delay = $2"$'\n'"rekey_time = $3" "start_action = start"$'\n'"rekey_time = $4"$'\n'"esp_proposals = $5" >"$RUN/oakley.conf"
}
conf aes256gcm16-prfsha256-x25519 0s 4h 1h aes256gcm16
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/oakley.conf" --control "$RUN/oakley.ctl" --tun "rld$ID" >"$RUN/oakley.log" 2>&1 &
OAKLEY_PID=$!
on_exit_pid "$OAKLEY_PID"
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/oakley.ctl"; }

# ike_spis: Oakley's IKE SA SPIs ("i r", one line per IKE SA); child: Oakley's "spi-in encr-alg"; sw_child: strongSwan's.
ike_spis() { OK list-sas --json 2>/dev/null | jq -r '.["ike-sas"][] | select(.state == "ESTABLISHED") | "\(.["initiator-spi"]) \(.["responder-spi"])"'; }
child() { OK list-sas --json 2>/dev/null | jq -r '.["ike-sas"][] | select(.state == "ESTABLISHED") | .["child-sas"][] | "\(.["spi-in"]) \(.["encr-alg"])-\(.["encr-keysize"])"'; }
sw_ike_spis() { SW --list-sas --raw 2>/dev/null | grep -oE 'initiator-spi=[0-9a-f]+ responder-spi=[0-9a-f]+' | sed -E 's/initiator-spi=([0-9a-f]+) responder-spi=([0-9a-f]+)/\1 \2/'; }
ping_ok() { ip netns exec "$NA" ping -c 2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1; }
wait_for() { # SECONDS COMMAND...: polls until COMMAND succeeds (bounded)
  local until=$((SECONDS + $1)); shift
  while ((SECONDS < until)); do "$@" && return 0; sleep 0.5; done
  return 1
}
one_child_up() { [[ $(child | wc -l) -eq 1 ]]; }
# reload_json: load-all and the reply's counts as "deleted updated unchanged".
reload_json() { OK load-all --json | jq -r '"\(.["deleted-sas"]) \(.["updated-sas"]) \(.["unchanged-sas"])"'; }

wait_for 30 one_child_up || { echo "FAIL setup: the tunnel did not come up"; tail -20 "$RUN/oakley.log"; exit 1; }
wait_for 10 ping_ok
ike0=$(ike_spis); child0=$(child)

# 1 the same file again
counts=$(reload_json)
[[ $counts == "0 0 1" && $(ike_spis) == "$ike0" && $(child) == "$child0" ]] && ping_ok
result "load-all with the same file: nothing changes (deleted/updated/unchanged = $counts)" $?

# 2 dpd_delay and rekey_time
conf aes256gcm16-prfsha256-x25519 10s 3h 1h aes256gcm16
counts=$(reload_json)
rekey_in=$(OK list-sas --json | jq -r '.["ike-sas"][0]["rekey-time"]')
[[ $counts == "0 1 0" && $(ike_spis) == "$ike0" && $(sw_ike_spis) == "$ike0" && $(child) == "$child0" ]] && ((rekey_in <= 3 * 3600)) && ping_ok
result "load-all with new dpd_delay and rekey_time: the IKE SA is updated in place (same SPIs on both peers; rekey in ${rekey_in}s)" $?

# 3 the child's rekey_time lowered: the same CHILD SA now, a rekey with strongSwan within the new time
conf aes256gcm16-prfsha256-x25519 10s 3h 20s aes256gcm16
counts=$(reload_json)
same_child=$(child)
spi0=${child0%% *}
rekeyed() { local c; c=$(child); [[ -n $c && ${c%% *} != "$spi0" && $(wc -l <<<"$c") -eq 1 ]]; }
[[ $counts == "0 1 0" && $same_child == "$child0" ]] && wait_for 40 rekeyed && [[ $(ike_spis) == "$ike0" ]] && ping_ok
rc=$? # before the name: a command substitution in it would set $? again
result "a child's rekey_time lowered to 20s: the CHILD SA stays, then is rekeyed with strongSwan on the new schedule (${child0} -> $(child))" $rc

# 4 the child's proposals: rekeyed to aes128gcm16 at once
conf aes256gcm16-prfsha256-x25519 10s 3h 1h aes128gcm16
before=$(child)
counts=$(reload_json)
on_aes128() { [[ $(child) == *AES_GCM_16-128 ]] && one_child_up; }
wait_for 15 on_aes128 && [[ $counts == "0 1 0" && $(ike_spis) == "$ike0" && $(SW --list-sas 2>/dev/null) == *AES_GCM_16-128* ]] && ping_ok
rc=$? # before the name: a command substitution in it would set $? again
result "a child's esp_proposals changed to aes128gcm16: the CHILD SA is rekeyed to it at once, the IKE SA stays (${before} -> $(child))" $rc

# 5 SIGHUP
conf aes256gcm16-prfsha256-x25519 20s 3h 1h aes128gcm16
kill -HUP "$OAKLEY_PID"
logged() { grep -q "IKE SAs: 0 unchanged, 1 updated in place, 0 deleted" "$RUN/oakley.log"; } # grep on a file: no pipe
wait_for 10 logged && [[ $(ike_spis) == "$ike0" ]] && ping_ok
result "SIGHUP with a new dpd_delay: the IKE SA is updated in place and the log says so" $?

# 6 the IKE proposals: replaced, and start_action = start brings it back on the new proposal
conf aes128gcm16-prfsha256-ecp256 20s 3h 1h aes128gcm16
counts=$(OK load-all --json | jq -r '"\(.["deleted-sas"]) \(.["started"])"')
new_sa() { local s; s=$(ike_spis); [[ -n $s && $s != "$ike0" && $(wc -l <<<"$s") -eq 1 ]] && one_child_up; }
new_sa_on_ecp256() { new_sa && [[ $(SW --list-sas 2>/dev/null) == *ECP_256* ]]; }
wait_for 30 new_sa_on_ecp256 && [[ $counts == "1 1" ]] && wait_for 10 ping_ok
result "new IKE proposals: the IKE SA is deleted and start_action = start negotiates a new one (deleted/started = $counts)" $?

if ((failures > 0)); then
  echo "--- oakley log (tail)"; tail -40 "$RUN/oakley.log"
  echo "--- charon log (tail)"; tail -40 "$RUN/sw/charon.log"
fi
exit $((failures > 0))
