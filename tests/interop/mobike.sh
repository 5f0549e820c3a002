#!/usr/bin/env bash
# Interop: MOBIKE (RFC 4555) between Oakley and strongSwan 5.9 (charon + kernel-libipsec).
#   A 192.0.2.1/24 (inner 198.51.100.1) <-> B 192.0.2.2/24 (inner 203.0.113.1), both with mobike = yes (default).
#   phase 1: Oakley (A, local_addrs = %any) initiates to strongSwan (B). A's address moves: 192.0.2.3 is added,
#     192.0.2.1 deleted. Oakley notices (its address monitor), sends UPDATE_SA_ADDRESSES from 192.0.2.3; the
#     tunnel carries traffic again with the same IKE SA on both sides (SPIs unchanged, one IKE_SA_INIT in
#     charon.log), strongSwan shows the new remote address.
#   phase 2: the reverse: strongSwan (A) initiates to Oakley (B) and moves the same way; Oakley, the MOBIKE
#     responder, follows the update and moves its CHILD SA.
# Usage: tests/interop/mobike.sh [path to oakley.dll]. Needs root, iproute2, strongSwan (test.sh installs them).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=mobA$ID
NB=mobB$ID
IFA=mA$ID
RUN=$(mktemp -d /tmp/oakley-mobike.XXXXXX)
CHARON_PID= OAKLEY_PID=
stop_daemons() {
  stop_pids "$OAKLEY_PID" "$CHARON_PID"
  OAKLEY_PID= CHARON_PID=
}
keep_logs() { [[ -n ${KEEP_LOGS:-} ]] && rm -rf "$KEEP_LOGS" && cp -r "$RUN" "$KEEP_LOGS"; } # KEEP_LOGS=DIR: a copy of RUN
on_exit_run keep_logs
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NB"
need_tools ip /usr/lib/ipsec/charon swanctl dotnet ping

make_pair "$NA" "$NB" "$IFA" "mB$ID" || setup_fail "cannot create namespaces"
# Deleting the primary address must not take the new (secondary) one with it.
ip netns exec "$NA" sysctl -qw "net.ipv4.conf.$IFA.promote_secondaries=1"

conf() { # local_addrs remote_addrs local_id remote_id local_ts remote_ts
  psk_conf "$1" "$2" "$3" "$4" "$5" "$6" mobike-interop-psk
}
SW() { swanctl_in "$SW_NS" "$CASE/sw" "$@"; }
OK() { ip netns exec "$OK_NS" dotnet "$OAKLEY_DLL" "$@" --control "$CASE/ok.ctl"; }
ping_through() { for _ in $(seq "$1"); do ip netns exec "$NA" ping -c 1 -W 1 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1 && return 0; done; return 1; }
ok_ike() { OK list-sas --json 2>/dev/null | tr -d ' \n' | grep -o '"initiator-spi":"[0-9a-f]*","responder-spi":"[0-9a-f]*"'; }
ok_json() { OK list-sas --json 2>/dev/null | tr -d ' \n'; }
sw_ike() { SW --list-sas 2>/dev/null | awk '/ESTABLISHED/ {print $5 " " $6; exit}'; }
sw_remote() { SW --list-sas 2>/dev/null | awk '$1 == "remote" && /@/ {print $NF; exit}'; }
move_a() { ip -n "$NA" addr add 192.0.2.3/24 dev "$IFA" && ip -n "$NA" addr del 192.0.2.1/24 dev "$IFA"; }
restore_a() { ip -n "$NA" addr add 192.0.2.1/24 dev "$IFA" 2>/dev/null; ip -n "$NA" addr del 192.0.2.3/24 dev "$IFA" 2>/dev/null; }

# start DIR OAKLEY_NS SW_NS
start() {
  CASE=$1 OK_NS=$2 SW_NS=$3
  launch_charon "$SW_NS" "$CASE/sw" || return 1
  CHARON_PID=$CHARON_STARTED
  on_exit_pid "$CHARON_PID"
  SW --load-all >"$CASE/load.out" 2>&1 || return 1
  ip netns exec "$OK_NS" dotnet "$OAKLEY_DLL" daemon --config "$CASE/oakley.conf" --control "$CASE/ok.ctl" >"$CASE/oakley.log" 2>&1 &
  OAKLEY_PID=$!
  on_exit_pid "$OAKLEY_PID"
  for _ in $(seq 100); do [[ -S $CASE/ok.ctl ]] && return 0; sleep 0.1; done
  return 1
}

# ---- phase 1: Oakley initiator moves ----
D=$RUN/oakley-moves; mkdir -p "$D/sw/swanctl"
conf %any 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 >"$D/oakley.conf"
conf 192.0.2.2 %any b.example a.example 203.0.113.1/32 198.51.100.1/32 >"$D/sw/swanctl/swanctl.conf"
if start "$D" "$NA" "$NB"; then
  OK initiate --child net --timeout 20 >"$D/initiate.out" 2>&1
  result "oakley-moves: CHILD SA up" $?
  [[ $(ok_json) == *'"mobike":true'* ]] && grep -q "N(MOBIKE_SUP)" "$D/sw/charon.log"
  result "oakley-moves: MOBIKE negotiated (Oakley list-sas; MOBIKE_SUPPORTED in charon.log)" $?
  ping_through 10
  result "oakley-moves: ping passes before the move" $?
  ok_before=$(ok_ike); sw_before=$(sw_ike)
  move_a
  ping_through 30
  result "oakley-moves: after 192.0.2.1 -> 192.0.2.3, traffic passes again" $?
  echo "  oakley-moves: Oakley IKE SA ${ok_before:-?} -> $(ok_ike); strongSwan ${sw_before:-?} -> $(sw_ike), remote now $(sw_remote)"
  [[ -n $ok_before && $(ok_ike) == "$ok_before" && -n $sw_before && $(sw_ike) == "$sw_before" ]] && [[ $(grep -c "parsed IKE_SA_INIT request" "$D/sw/charon.log") -eq 1 ]]
  result "oakley-moves: the same IKE SA on both sides (SPIs unchanged, no new IKE_SA_INIT)" $?
  [[ $(sw_remote) == 192.0.2.3* ]] && grep -q "N(UPD_SA_ADDR)" "$D/sw/charon.log" && grep -q "requesting address change" "$D/oakley.log"
  result "oakley-moves: UPDATE_SA_ADDRESSES sent by Oakley, strongSwan now uses 192.0.2.3" $?
  OK terminate --ike tunnel >/dev/null 2>&1
else
  result "oakley-moves: daemons started" 1
fi
stop_daemons
restore_a

# ---- phase 2: strongSwan initiator moves, Oakley responds ----
D=$RUN/strongswan-moves; mkdir -p "$D/sw/swanctl"
conf 192.0.2.2 %any b.example a.example 203.0.113.1/32 198.51.100.1/32 >"$D/oakley.conf"
conf %any 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 >"$D/sw/swanctl/swanctl.conf"
if start "$D" "$NB" "$NA"; then
  SW --initiate --child net --timeout 20 >"$D/initiate.out" 2>&1
  result "strongswan-moves: CHILD SA up" $?
  [[ $(ok_json) == *'"mobike":true'* ]]
  result "strongswan-moves: MOBIKE negotiated" $?
  ping_through 10
  result "strongswan-moves: ping passes before the move" $?
  ok_before=$(ok_ike); sw_before=$(sw_ike)
  move_a
  ping_through 30
  result "strongswan-moves: after 192.0.2.1 -> 192.0.2.3, traffic passes again" $?
  echo "  strongswan-moves: Oakley IKE SA ${ok_before:-?} -> $(ok_ike); strongSwan ${sw_before:-?} -> $(sw_ike)"
  [[ -n $ok_before && $(ok_ike) == "$ok_before" && -n $sw_before && $(sw_ike) == "$sw_before" ]] && [[ $(grep -c "generating IKE_SA_INIT request" "$D/sw/charon.log") -eq 1 ]]
  result "strongswan-moves: the same IKE SA on both sides (SPIs unchanged, no new IKE_SA_INIT)" $?
  [[ $(ok_json) == *'"remote-host":"192.0.2.3"'* ]] && grep -q "MOBIKE: remote address changed" "$D/oakley.log"
  result "strongswan-moves: Oakley followed strongSwan's UPDATE_SA_ADDRESSES to 192.0.2.3" $?
  OK terminate --ike tunnel >/dev/null 2>&1
else
  result "strongswan-moves: daemons started" 1
fi
stop_daemons

if ((failures > 0)); then
  for d in "$RUN"/*-moves; do
    echo "--- $d/oakley.log"; tail -25 "$d/oakley.log"
    echo "--- $d/charon.log"; grep -E "MOBIKE|UPD_SA|address|endpoint|INFORMATIONAL|established|NAT" "$d/sw/charon.log" | tail -25
  done
fi
exit $((failures > 0))
