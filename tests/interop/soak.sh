#!/usr/bin/env bash
# Interop soak: Oakley <-> strongSwan 5.9 (charon + kernel-libipsec) for about two minutes under a continuous ping
# (5 per second), with rekey times of seconds on both sides for both SA types:
#   Oakley: CHILD rekey_time 9 s, IKE rekey_time 20 s; strongSwan: CHILD 11 s, IKE 25 s (rand_time 2-3 s each).
# On top of the scheduled rekeys, six forced simultaneous rekeys (three CHILD, three IKE): nftables holds back
# Oakley's request while both are told to rekey, so that the two exchanges really cross (RFC 7296 §2.8.1/§2.8.2).
# Then Oakley is killed (no delete sent) and started again: start_action = start brings the tunnel back and its
# INITIAL_CONTACT makes strongSwan drop the stale SA.
# Checked: ping loss (at most 3 of 375 during the rekeys; at most 40 of 200 across the restart), the SA counts sampled
# about every 10 s on both sides (1 or 2 IKE SAs, 1 to 3 CHILD SAs while rekeys overlap), collisions detected by Oakley, and at
# the end exactly one IKE and one CHILD SA on each side with crosswise-equal SPIs and no orphaned data-plane SA.
# Usage: tests/interop/soak.sh [path to oakley.dll]. Needs root, iproute2, strongSwan (test.sh installs them).
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
source "$(dirname "$0")/lib.sh"
ID=$$
NA=skA$ID
NB=skB$ID
RUN=$(mktemp -d /tmp/oakley-soak.XXXXXX)
CHARON_PID= OAKLEY_PID= PING_PID=
failures=0
cleanup() {
  for p in $CHARON_PID $OAKLEY_PID; do kill -CONT "$p" 2>/dev/null; done
  for p in $PING_PID $OAKLEY_PID $CHARON_PID; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in $PING_PID $OAKLEY_PID $CHARON_PID; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
  [[ -n ${KEEP_LOGS:-} ]] && rm -rf "$KEEP_LOGS" && cp -r "$RUN" "$KEEP_LOGS"
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip nft /usr/lib/ipsec/charon swanctl dotnet ping; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done

make_pair "$NA" "$NB" "sA$ID" "sB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }

conf() { # local remote localid remoteid local_ts remote_ts ike_rekey child_rekey start_action
  psk_conf "$1" "$2" "$3" "$4" "$5" "$6" soak-interop-psk "rekey_time = $7
over_time = 30s
rand_time = 3s
dpd_delay = 5s
keyingtries = 0" "rekey_time = $8
life_time = 40s
rand_time = 2s
start_action = $9
dpd_action = restart"
}
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
OK() { ip netns exec "$NA" dotnet "$OAKLEY_DLL" "$@" --control "$RUN/a.ctl"; }
mkdir -p "$RUN/sw/swanctl"
conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 20s 9s start >"$RUN/a.conf"
conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 25s 11s none >"$RUN/sw/swanctl/swanctl.conf"

launch_charon "$NB" "$RUN/sw" || { echo "FAIL setup: charon did not start"; exit 1; }
CHARON_PID=$CHARON_STARTED
SW --load-all >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }
start_oakley() {
  rm -f "$RUN/a.ctl"
  ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" \
    --retransmit-timeout 1 --retransmit-tries 3 >>"$RUN/oakley.log" 2>&1 &
  OAKLEY_PID=$!
  for _ in $(seq 100); do [[ -S $RUN/a.ctl ]] && break; sleep 0.1; done
}
start_oakley

tunnel_up() { ip netns exec "$NA" ping -c 1 -W 1 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1; }
up=1
for _ in $(seq 30); do if tunnel_up; then up=0; break; fi; sleep 0.5; done
result "start_action = start brought the tunnel up" $up

ok_ike() { OK list-sas --json 2>/dev/null | grep -oE '"state": *"ESTABLISHED"' | wc -l; }
ok_children() { OK list-sas 2>/dev/null | grep -c "^  net: "; }
sw_ike() { SW --list-sas 2>/dev/null | grep -c ESTABLISHED; }
sw_children() { SW --list-sas 2>/dev/null | grep "^  net: " | grep -c INSTALLED; }
ok_spis() { OK list-sas 2>/dev/null | grep "^  net: " | sed -E 's/.*SPIs: ([0-9a-f]+)_i ([0-9a-f]+)_o.*/\1 \2/'; }
sw_spis() { SW --list-sas 2>/dev/null | awk '$1 == "net:" {f = /INSTALLED/; next} f && $1 == "in" {i=$2} f && $1 == "out" {print i " " $2; exit}' | tr -d ','; }
samples_bad=0
sample() {
  local oi oc si sc
  oi=$(ok_ike); oc=$(ok_children); si=$(sw_ike); sc=$(sw_children)
  echo "  t=$(( $(date +%s) - T0 ))s: Oakley IKE $oi CHILD $oc; strongSwan IKE $si CHILD $sc"
  if ((oi < 1 || oi > 2 || si < 1 || si > 2 || oc < 1 || oc > 3 || sc < 1 || sc > 3)); then samples_bad=$((samples_bad + 1)); fi
}
# A forced simultaneous rekey, made deterministic: while nftables in Oakley's namespace holds back Oakley's outbound
# IKE requests (UDP 4500, non-ESP marker 0, IKE header flag R clear; ESP and IKE responses pass), both sides are told
# to rekey. charon's request reaches Oakley while Oakley's own is outstanding (Oakley detects the collision and answers);
# Oakley's request, retransmitted a second later, reaches charon (which detects it in turn, or refuses it if it has
# already finished). charon is also frozen for the moment both commands are issued, so neither sees the other's
# command first by accident.
ip netns exec "$NA" nft -f - <<'NFT'
table inet soak {
  chain out {
    type filter hook output priority 0;
  }
}
NFT
hold_requests() { ip netns exec "$NA" nft add rule inet soak out udp dport 4500 @th,64,32 0 @th,248,8 '&' 0x20 == 0 drop; }
release_requests() { ip netns exec "$NA" nft flush chain inet soak out; }
collide() { # child|ike
  local ok_args=(rekey --ike tunnel) sw_args=(--rekey --ike tunnel)
  [[ $1 == child ]] && ok_args=(rekey --child net) && sw_args=(--rekey --child net)
  hold_requests
  kill -STOP "$CHARON_PID"
  OK "${ok_args[@]}" >/dev/null 2>&1
  SW "${sw_args[@]}" >/dev/null 2>&1 &
  local bg=$!
  sleep 0.2; kill -CONT "$CHARON_PID"; wait "$bg"
  sleep 0.3; release_requests
  forced=$((forced + 1))
}

# ---- phase 1: 75 s of scheduled and forced rekeys under ping ----------------------------------------------------
T0=$(date +%s)
ip netns exec "$NA" ping -i 0.2 -c 375 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping-rekeys.out" 2>&1 &
PING_PID=$!
forced=0
for step in child ike child ike child ike; do
  sleep 5; sample
  sleep 5; collide "$step"
done
sleep 5; sample
wait "$PING_PID"; PING_PID=
lost=$(awk '/packets transmitted/ {print $1 - $4}' "$RUN/ping-rekeys.out")
echo "  rekeys: $(grep 'packets transmitted' "$RUN/ping-rekeys.out")"
[[ -n $lost && $lost -le 3 ]]
result "75 s of rekeys (scheduled and $forced forced simultaneous): ping lost $lost of 375 (bound 3)" $?
children_rekeyed=$(grep -c "CHILD_SA net{[0-9]*} established" "$RUN/sw/charon.log")
ike_rekeyed=$(grep -cE "IKE_SA tunnel\[[0-9]+\] rekeyed" "$RUN/sw/charon.log")
collisions=$(grep -ci "collision" "$RUN/sw/charon.log")
ok_collisions=$(grep -c "rekey collision" "$RUN/oakley.log")
echo "  strongSwan log: $children_rekeyed CHILD SAs established, $collisions lines about rekey collisions; Oakley log: $ok_collisions"
grep -ih "collision" "$RUN/sw/charon.log" "$RUN/oakley.log" | sed 's/^/    /' | head -16
((children_rekeyed >= 10))
result "CHILD SAs were rekeyed again and again (strongSwan established $children_rekeyed)" $?
((ike_rekeyed >= 3))
result "the IKE SA was rekeyed again and again (strongSwan logged $ike_rekeyed IKE rekeys)" $?
# A forced rekey that meets a scheduled one already in flight ends as TEMPORARY_FAILURE instead, so not every one of
# the six is a collision; at least half are.
((ok_collisions >= forced / 2))
result "forced simultaneous rekeys collided and were resolved (Oakley logged $ok_collisions collision lines for $forced forced rekeys; strongSwan $collisions)" $?
((samples_bad == 0))
result "SA counts stayed within bounds at every sample (1-2 IKE, 1-3 CHILD while rekeys overlap)" $?

# ---- phase 2: Oakley restarts (killed, no delete) under ping ----------------------------------------------------
ip netns exec "$NA" ping -i 0.2 -c 200 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping-restart.out" 2>&1 &
PING_PID=$!
sleep 3
kill -KILL "$OAKLEY_PID"; wait "$OAKLEY_PID" 2>/dev/null
start_oakley
wait "$PING_PID"; PING_PID=
lost=$(awk '/packets transmitted/ {print $1 - $4}' "$RUN/ping-restart.out")
echo "  restart: $(grep 'packets transmitted' "$RUN/ping-restart.out")"
[[ -n $lost && $lost -le 40 ]]
result "Oakley killed and restarted: the tunnel came back by itself; ping lost $lost of 200 (bound 40)" $?

# ---- the end: exactly one IKE and one CHILD SA each, crosswise, and no orphans (retried: rekeys keep going) ------
final=1
for _ in $(seq 30); do
  o=$(ok_spis); s=$(sw_spis)
  stats=$(OK stats --json 2>/dev/null)
  sad=$(grep -oE '"sad-inbound": *[0-9]+' <<<"$stats" | grep -oE '[0-9]+$')
  kids=$(grep -oE '"child-sas": *[0-9]+' <<<"$stats" | grep -oE '[0-9]+$')
  if [[ $(ok_ike) -eq 1 && $(sw_ike) -eq 1 && $(ok_children) -eq 1 && $(sw_children) -eq 1 && -n $s \
        && "${o%% *}" == "${s##* }" && "${o##* }" == "${s%% *}" && -n $sad && $sad == "$kids" ]]; then
    final=0; break
  fi
  sleep 0.5
done
echo "  final: Oakley IKE $(ok_ike) CHILD '$(ok_spis)'; strongSwan IKE $(sw_ike) CHILD '$(sw_spis)'; Oakley data plane inbound SAs $sad for $kids CHILD SAs"
result "one IKE SA and one CHILD SA on each side, SPIs crosswise equal, no stale SA on strongSwan, no orphaned data-plane SA" $final

if ((failures > 0)); then
  echo "--- oakley.log"; tail -60 "$RUN/oakley.log"
  echo "--- charon.log"; grep -E "rekey|CHILD_SA|DELETE|CREATE|collision" "$RUN/sw/charon.log" | tail -60
fi
exit $((failures > 0))
