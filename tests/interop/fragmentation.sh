#!/usr/bin/env bash
# Interop: IKE fragmentation (RFC 7383) between Oakley and strongSwan 5.9 (charon + kernel-libipsec) over a path
# that cannot carry IP fragments: nftables in both namespaces drops every IPv4 fragment, so an IKE message larger
# than the veth MTU (1500) only arrives if IKE itself cut it into fragments.
# Oakley proposes 100 host selectors for its side, which makes IKE_AUTH about 1.8 KB in each direction, and the
# CHILD SA uses MODP-8192 PFS (a 1 KB KE payload in every CREATE_CHILD_SA).
#   control: fragmentation = no on both sides: IKE_AUTH cannot cross the path (nftables counts the drops).
#   phase 1: fragmentation = yes on both sides, Oakley initiates: IKE_AUTH request and response go as fragments;
#            the SAs establish and a ping passes.
#   phase 2: strongSwan rekeys the CHILD SA (CREATE_CHILD_SA with KE, fragmented both ways); ping passes.
#   phase 3: Oakley rekeys the CHILD SA (rekey_time 14 s); ping passes.
#   phase 4: the same IKE_AUTH with an encrypt-then-MAC suite (aes128-sha256) instead of AES-GCM.
#   Checks: strongSwan's log shows it split and reassembled messages; Oakley's stats count fragments sent,
#   received and messages reassembled; both sides end with one CHILD SA with crosswise-equal SPIs.
# Usage: tests/interop/fragmentation.sh [path to oakley.dll]. Needs root, iproute2, nftables, strongSwan.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
source "$(dirname "$0")/lib.sh"
ID=$$
NA=fgA$ID
NB=fgB$ID
RUN=$(mktemp -d /tmp/oakley-frag.XXXXXX)
CHARON_PID= OAKLEY_PID=
failures=0
cleanup() {
  for p in $OAKLEY_PID $CHARON_PID; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in $OAKLEY_PID $CHARON_PID; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
  [[ -n ${KEEP_LOGS:-} ]] && rm -rf "$KEEP_LOGS" && cp -r "$RUN" "$KEEP_LOGS"
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip nft /usr/lib/ipsec/charon swanctl dotnet ping; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done

make_pair "$NA" "$NB" "fA$ID" "fB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
# Both namespaces drop every IPv4 fragment before reassembly (prerouting, priority -450: ahead of conntrack's
# defragmentation), so no IP datagram larger than the 1500-byte MTU arrives, in either direction.
for ns in "$NA" "$NB"; do
  ip netns exec "$ns" nft -f - <<'NFT' || { echo "FAIL setup: nftables in $ns"; exit 1; }
table ip nofrag {
  chain pre {
    type filter hook prerouting priority -450; policy accept;
    ip frag-off & 0x3fff != 0 counter drop
  }
}
NFT
done
ip_fragment_drops() { # IP fragments the two namespaces dropped so far
  local n=0 d ns
  for ns in "$NA" "$NB"; do
    d=$(ip netns exec "$ns" nft list chain ip nofrag pre 2>/dev/null | grep -o 'packets [0-9]*' | grep -o '[0-9]*')
    n=$((n + ${d:-0}))
  done
  echo "$n"
}

hosts() { # prefix count: "prefix.1/32,prefix.2/32,..."
  local out= i
  for i in $(seq 1 "$2"); do out+="${out:+,}$1.$i/32"; done
  echo "$out"
}
# Oakley's side has 100 host selectors (1.6 KB per TS payload, in both IKE_AUTH messages); strongSwan's one. Many
# selectors on both sides would make their product of policies, which kernel-libipsec installs slowly.
TS_A=$(hosts 198.51.100 100)
TS_B=203.0.113.1/32

conf() { # local remote localid remoteid local_ts remote_ts fragmentation child_rekey_time ike_proposal
  psk_conf "$1" "$2" "$3" "$4" "$5" "$6" fragmentation-interop-psk "fragmentation = $7
proposals = ${9:-aes256gcm16-prfsha256-x25519}" "esp_proposals = aes256gcm16-modp8192
rekey_time = $8
life_time = 2h
rand_time = 0"
}
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
OK() { ip netns exec "$NA" dotnet "$OAKLEY_DLL" "$@" --control "$RUN/a.ctl"; }
configure() { # fragmentation oakley_child_rekey [ike_proposal]
  conf 192.0.2.1 192.0.2.2 a.example b.example "$TS_A" "$TS_B" "$1" "$2" "${3:-}" >"$RUN/a.conf"
  conf 192.0.2.2 192.0.2.1 b.example a.example "$TS_B" "$TS_A" "$1" 1h "${3:-}" >"$RUN/sw/swanctl/swanctl.conf"
}
stat_of() { OK stats --json 2>/dev/null | grep -o "\"$1\": *[0-9]*" | grep -o '[0-9]*$'; }
ok_spis() { OK list-sas 2>/dev/null | grep "^  net: " | sed -E 's/.*SPIs: ([0-9a-f]+)_i ([0-9a-f]+)_o.*/\1 \2/'; }
sw_spis() { SW --list-sas 2>/dev/null | awk '$1 == "net:" {f = /INSTALLED/; next} f && $1 == "in" {i=$2} f && $1 == "out" {print i " " $2; exit}' | tr -d ','; }
sw_children() { SW --list-sas 2>/dev/null | grep "^  net: " | grep -c INSTALLED; }
ping_ok() { ip netns exec "$NA" ping -c 3 -i 0.3 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping-$1.out" 2>&1; }
consistent() { # one CHILD SA each, SPIs crosswise equal
  local a s
  a=$(ok_spis); s=$(sw_spis)
  echo "  $1: Oakley SPIs '$a', strongSwan '$s'"
  [[ -n $a && -n $s && "${a%% *}" == "${s##* }" && "${a##* }" == "${s%% *}" && $(sw_children) -eq 1 ]] \
    && [[ $(OK list-sas 2>/dev/null | grep -c "^  net: ") -eq 1 ]]
}

mkdir -p "$RUN/sw/swanctl"
configure no 1h
launch_charon "$NB" "$RUN/sw" || { echo "FAIL setup: charon did not start"; exit 1; }
CHARON_PID=$CHARON_STARTED
SW --load-all >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }
ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" \
  --retransmit-timeout 2 --retransmit-tries 3 >"$RUN/oakley.log" 2>&1 &
OAKLEY_PID=$!
for _ in $(seq 100); do [[ -S $RUN/a.ctl ]] && break; sleep 0.1; done

# ---- control: without IKE fragmentation the large IKE_AUTH cannot cross this path ----
drops_before=$(ip_fragment_drops)
OK initiate --child net --timeout 8 >"$RUN/initiate-control.out" 2>&1
rc=$?
drops_after=$(ip_fragment_drops)
echo "  control: IP fragments dropped by the path: $drops_before -> $drops_after"
[[ $rc -ne 0 && $(sw_children) -eq 0 && $drops_after -gt $drops_before ]] && ! grep -q "IKEV2_FRAG_SUP\|FRAG_SUP" "$RUN/sw/charon.log"
result "control: with fragmentation = no, IKE_AUTH is lost to the path (IP fragments dropped, no SA)" $?
OK terminate --ike tunnel >/dev/null 2>&1
sleep 1

# ---- phase 1: fragmentation = yes on both sides ----
configure yes 14s
SW --load-all >"$RUN/load1.out" 2>&1 && OK load-all >/dev/null 2>&1
result "reload both configurations with fragmentation = yes" $?
cp "$RUN/sw/charon.log" "$RUN/charon-control.log" 2>/dev/null
: >"$RUN/sw/charon.log"
sent0=$(stat_of fragments-sent); recv0=$(stat_of fragments-received); reas0=$(stat_of messages-reassembled)
drops0=$(ip_fragment_drops)
OK initiate --child net --timeout 20 >"$RUN/initiate1.out" 2>&1
result "phase 1: Oakley initiates; IKE and CHILD SA up over the fragment-dropping path" $?
T0=$SECONDS
ping_ok up
result "phase 1: ping 198.51.100.1 -> 203.0.113.1 passes through the tunnel" $?
consistent "phase 1"
result "phase 1: one CHILD SA on each side with crosswise-equal SPIs" $?
grep -q "parsed IKE_SA_INIT request.*N(FRAG_SUP)" "$RUN/sw/charon.log" && grep -q "generating IKE_SA_INIT response.*N(FRAG_SUP)" "$RUN/sw/charon.log"
result "phase 1: strongSwan saw and sent IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT" $?
grep -Eq "received fragment #[0-9]+ of [0-9]+, reassembl" "$RUN/sw/charon.log" \
  && grep -q "IKE_AUTH request 1 \[ EF(" "$RUN/sw/charon.log"
result "phase 1: strongSwan received Oakley's IKE_AUTH request as fragments and reassembled it" $?
grep -q "splitting IKE message .* into [0-9]* fragments" "$RUN/sw/charon.log" \
  && grep -q "IKE_AUTH response 1 \[ EF(" "$RUN/sw/charon.log"
result "phase 1: strongSwan sent its IKE_AUTH response as fragments" $?
sent1=$(stat_of fragments-sent); recv1=$(stat_of fragments-received); reas1=$(stat_of messages-reassembled)
echo "  phase 1: Oakley fragments sent $sent0 -> $sent1, received $recv0 -> $recv1, messages reassembled $reas0 -> $reas1; IP fragments dropped $drops0 -> $(ip_fragment_drops)"
[[ ${sent1:-0} -gt ${sent0:-0} && ${recv1:-0} -gt ${recv0:-0} && ${reas1:-0} -gt ${reas0:-0} ]]
result "phase 1: Oakley's stats count fragments sent, received and a reassembled message" $?

# ---- phase 2: strongSwan rekeys the CHILD SA (CREATE_CHILD_SA with a MODP-8192 KE) ----
before=$(ok_spis)
SW --rekey --child net >"$RUN/rekey-sw.out" 2>&1
for _ in $(seq 50); do [[ $(ok_spis) != "$before" && $(sw_children) -eq 1 ]] && break; sleep 0.2; done
reas2=$(stat_of messages-reassembled)
[[ -n $before && $(ok_spis) != "$before" ]] && consistent "phase 2"
result "phase 2: strongSwan's CHILD rekey (MODP-8192 PFS) completes; one CHILD SA each, new SPIs" $?
grep -q "generating CREATE_CHILD_SA request 0 \[ EF(" "$RUN/sw/charon.log" && grep -q "parsed CREATE_CHILD_SA response 0 \[ EF(" "$RUN/sw/charon.log" \
  && [[ ${reas2:-0} -gt ${reas1:-0} ]]
result "phase 2: the CREATE_CHILD_SA request and response went as fragments (strongSwan log, Oakley stats)" $?
ping_ok rekey-sw
result "phase 2: ping passes after the rekey" $?

# ---- phase 3: Oakley rekeys the CHILD SA (rekey_time 14 s after the SA strongSwan made; Oakley's request #2) ----
before=$(ok_spis)
for _ in $(seq 100); do [[ $(ok_spis) != "$before" && $(sw_children) -eq 1 ]] && break; sleep 0.3; done
reas3=$(stat_of messages-reassembled)
[[ -n $before && $(ok_spis) != "$before" ]] && consistent "phase 3"
result "phase 3: Oakley's CHILD rekey (MODP-8192 PFS) completes; one CHILD SA each, new SPIs" $?
grep -q "parsed CREATE_CHILD_SA request 2 \[ EF(" "$RUN/sw/charon.log" && grep -q "generating CREATE_CHILD_SA response 2 \[ EF(" "$RUN/sw/charon.log" \
  && [[ ${reas3:-0} -gt ${reas2:-0} ]]
result "phase 3: Oakley's CREATE_CHILD_SA request and strongSwan's response went as fragments" $?
ping_ok rekey-ok
result "phase 3: ping passes after the rekey" $?

# ---- phase 4: encrypt-then-MAC (AES-CBC + HMAC-SHA-256) protects the fragments instead of AES-GCM ----
OK terminate --ike tunnel >/dev/null 2>&1
for _ in $(seq 30); do [[ $(sw_children) -eq 0 ]] && break; sleep 0.1; done
configure yes 1h aes128-sha256-x25519
SW --load-all >"$RUN/load4.out" 2>&1 && OK load-all >/dev/null 2>&1
split_before=$(grep -c 'splitting IKE message' "$RUN/sw/charon.log"); reas_before=$(grep -c 'reassembled fragmented IKE message' "$RUN/sw/charon.log")
OK initiate --child net --timeout 20 >"$RUN/initiate4.out" 2>&1 && ping_ok cbc
rc=$?
[[ $rc -eq 0 ]] && grep -aq "selected proposal: IKE:AES_CBC_128/HMAC_SHA2_256_128" "$RUN/sw/charon.log" \
  && [[ $(grep -c 'splitting IKE message' "$RUN/sw/charon.log") -gt $split_before && $(grep -c 'reassembled fragmented IKE message' "$RUN/sw/charon.log") -gt $reas_before ]]
result "phase 4: with aes128-sha256 (CBC + HMAC) IKE_AUTH fragments go both ways, SAs up, ping passes" $?

echo "  totals: Oakley fragments sent $(stat_of fragments-sent), received $(stat_of fragments-received), messages reassembled $(stat_of messages-reassembled); strongSwan split $(grep -c 'splitting IKE message' "$RUN/sw/charon.log") messages, reassembled $(grep -c "reassembled fragmented IKE message" "$RUN/sw/charon.log") (elapsed $((SECONDS - T0)) s)"

if ((failures > 0)); then
  echo "--- oakley stats"; OK stats --json 2>&1 | tr -d '\n' | head -c 1500; echo
  echo "--- oakley.log"; tail -40 "$RUN/oakley.log"
  echo "--- charon.log"; grep -aE "fragment|EF\(|IKE_AUTH|CREATE_CHILD|FRAG|sending packet" "$RUN/sw/charon.log" | tail -40
fi
exit $((failures > 0))
