#!/usr/bin/env bash
# IKE_SA_INIT flood (RFC 7296 §2.6 DoS protection). Three namespaces:
#   L (strongSwan initiator, 192.0.2.1, inner 192.0.2.65) --- R (Oakley responder, 192.0.2.2 / 192.0.2.18, inner 192.0.2.97)
#   X (attacker, 192.0.2.17) --------------------------------/
# X sends 50,000 forged IKE_SA_INIT requests (SA, KE x25519, Nonce, NAT-D) from random spoofed sources in
# 198.51.100.0/24 and 203.0.113.0/24 (`oakley flood`, a raw socket). R routes those networks back to X, which
# drops the answers (they are not for it and it does not forward). During the flood strongSwan in L establishes
# (returning the COOKIE it is asked for) and a ping passes through the tunnel. Prints the figures and
# "PASS name" / "FAIL name" lines; exits non-zero if any failed. Bounded: the flood stops after 60 s.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
source "$(dirname "$0")/lib.sh"
ID=$$
NL=flL$ID
NR=flR$ID
NX=flX$ID
RUN=$(mktemp -d /tmp/oakley-flood.XXXXXX)
OAKLEY_PID= CHARON_PID= FLOOD_PID= INIT_PID=
COUNT=${FLOOD_COUNT:-50000}
RATE=${FLOOD_RATE:-2500}
# The responder's limits (strongswan.conf charon.*, read with --settings).
COOKIE_THRESHOLD=10 COOKIE_THRESHOLD_IP=3 BLOCK_THRESHOLD=5 INIT_LIMIT_HALF_OPEN=20 HALF_OPEN_TIMEOUT=10
# Memory bound asserted: the responder's peak RSS (VmHWM) may exceed its RSS before the flood by at most this much.
RSS_BOUND_KB=$((64 * 1024))
failures=0

cleanup() {
  for p in $FLOOD_PID $INIT_PID $OAKLEY_PID $CHARON_PID; do kill -TERM "$p" 2>/dev/null; done
  for p in $FLOOD_PID $INIT_PID $OAKLEY_PID $CHARON_PID; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  ip netns del "$NL" 2>/dev/null; ip netns del "$NR" 2>/dev/null; ip netns del "$NX" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip dotnet ping swanctl /usr/lib/ipsec/charon jq; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done

# ---- namespaces
ip netns add "$NL" && ip netns add "$NR" && ip netns add "$NX" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
ip link add "fl$ID" type veth peer name "fr$ID"
ip link add "fx$ID" type veth peer name "fa$ID"
ip link set "fl$ID" netns "$NL"; ip link set "fr$ID" netns "$NR"; ip link set "fa$ID" netns "$NR"; ip link set "fx$ID" netns "$NX"
for ns in "$NL" "$NR" "$NX"; do ip -n "$ns" link set lo up; done
ip -n "$NL" addr add 192.0.2.1/28 dev "fl$ID"; ip -n "$NL" addr add 192.0.2.65/32 dev lo
ip -n "$NR" addr add 192.0.2.2/28 dev "fr$ID"; ip -n "$NR" addr add 192.0.2.97/32 dev lo
ip -n "$NR" addr add 192.0.2.18/28 dev "fa$ID"
ip -n "$NX" addr add 192.0.2.17/28 dev "fx$ID"
for dev in "$NL:fl$ID" "$NR:fr$ID" "$NR:fa$ID" "$NX:fx$ID"; do ip -n "${dev%%:*}" link set "${dev#*:}" up; done
# R answers the spoofed sources through X; X reaches R's IKE address through R's link to it.
ip -n "$NR" route add 198.51.100.0/24 via 192.0.2.17
ip -n "$NR" route add 203.0.113.0/24 via 192.0.2.17
ip -n "$NX" route add 192.0.2.0/28 via 192.0.2.18
ip netns exec "$NR" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.fa$ID.rp_filter=0"
ip netns exec "$NX" sysctl -qw net.ipv4.ip_forward=0

# ---- Oakley responder in R: remote_addrs unset (%any), as a gateway for road warriors has it
cat >"$RUN/oakley.conf" <<CONF
connections {
  gw {
    version = 2
    local_addrs = 192.0.2.2
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw.example
    }
    remote {
      auth = psk
      id = client.example
    }
    children {
      net {
        local_ts = 192.0.2.96/27
        remote_ts = 192.0.2.64/27
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike {
    id-a = gw.example
    id-b = client.example
    secret = "flood-test-psk-not-secret"
  }
}
CONF
start_oakley() { # dos_protection init_limit_half_open log
  cat >"$RUN/strongswan.conf" <<CONF
charon {
  dos_protection = $1
  cookie_threshold = $COOKIE_THRESHOLD
  cookie_threshold_ip = $COOKIE_THRESHOLD_IP
  block_threshold = $BLOCK_THRESHOLD
  init_limit_half_open = $2
  half_open_timeout = $HALF_OPEN_TIMEOUT
}
CONF
  rm -f "$RUN/oakley.ctl"
  ip netns exec "$NR" dotnet "$OAKLEY_DLL" daemon --config "$RUN/oakley.conf" --settings "$RUN/strongswan.conf" --control "$RUN/oakley.ctl" --tun "ofl$ID" >"$RUN/$3" 2>&1 &
  OAKLEY_PID=$!
  for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
  [[ -S $RUN/oakley.ctl ]] || { echo "FAIL setup: oakley did not start"; cat "$RUN/$3"; exit 1; }
}
stop_oakley() {
  kill -TERM "$OAKLEY_PID" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$OAKLEY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$OAKLEY_PID" 2>/dev/null; wait "$OAKLEY_PID" 2>/dev/null; OAKLEY_PID=
}
start_oakley yes "$INIT_LIMIT_HALF_OPEN" oakley.log
OK() { ip netns exec "$NR" dotnet "$OAKLEY_DLL" "$@" --control "$RUN/oakley.ctl"; }
stat_of() { jq -r --arg k "$2" '.[$k] // 0' "$1" 2>/dev/null || echo 0; }
rss_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$OAKLEY_PID/status"; }

# ---- strongSwan initiator in L
mkdir -p "$RUN/sw/swanctl"
cat >"$RUN/sw/swanctl/swanctl.conf" <<CONF
connections {
  gw {
    version = 2
    local_addrs = 192.0.2.1
    remote_addrs = 192.0.2.2
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = client.example
    }
    remote {
      auth = psk
      id = gw.example
    }
    children {
      net {
        local_ts = 192.0.2.64/27
        remote_ts = 192.0.2.96/27
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike {
    id-a = gw.example
    id-b = client.example
    secret = "flood-test-psk-not-secret"
  }
}
CONF
launch_charon "$NL" "$RUN/sw" || { echo "FAIL setup: charon did not start"; cat "$RUN/sw/charon.out"; exit 1; }
CHARON_PID=$CHARON_STARTED
SW() { swanctl_in "$NL" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }

# ---- baseline
sleep 1
OK stats --json >"$RUN/stats-before.json" 2>/dev/null
rss_before=$(rss_kb VmRSS)
rx_before=$(ip netns exec "$NX" cat "/sys/class/net/fx$ID/statistics/rx_packets")

# ---- the flood, with strongSwan initiating 5 s into it
ip netns exec "$NX" dotnet "$OAKLEY_DLL" flood --target 192.0.2.2 --count "$COUNT" --rate "$RATE" --seconds 60 \
  --sources 198.51.100.0/24,203.0.113.0/24 >"$RUN/flood.out" 2>&1 &
FLOOD_PID=$!
max_half_open=0 max_rss=0 initiated=0 start=$SECONDS
while kill -0 "$FLOOD_PID" 2>/dev/null && (( SECONDS - start < 75 )); do
  if OK stats --json >"$RUN/stats-now.json" 2>/dev/null; then
    h=$(stat_of "$RUN/stats-now.json" half-open)
    (( h > max_half_open )) && max_half_open=$h
  fi
  r=$(rss_kb VmRSS); (( r > max_rss )) && max_rss=$r
  if (( initiated == 0 && SECONDS - start >= 5 )); then
    (SW --initiate --child net --timeout 40 >"$RUN/initiate.out" 2>&1; echo $? >"$RUN/initiate.rc") &
    INIT_PID=$!
    initiated=1
  fi
  sleep 1
done
wait "$FLOOD_PID"; flood_rc=$?; FLOOD_PID=
[[ -n $INIT_PID ]] && { wait "$INIT_PID"; INIT_PID=; }
OK stats --json >"$RUN/stats-flood.json" 2>/dev/null
rx_after=$(ip netns exec "$NX" cat "/sys/class/net/fx$ID/statistics/rx_packets")
rss_peak=$(rss_kb VmHWM)
rss_end=$(rss_kb VmRSS)

sent=$(grep -oE 'sent [0-9]+' "$RUN/flood.out" | grep -oE '[0-9]+')
cat "$RUN/flood.out"
echo "flood: requests sent ${sent:-0}; responder datagrams in $(stat_of "$RUN/stats-flood.json" datagrams-in), out $(stat_of "$RUN/stats-flood.json" datagrams-out)"
echo "flood: half-open max polled $max_half_open, engine peak $(stat_of "$RUN/stats-flood.json" half-open-peak) (cookie_threshold $COOKIE_THRESHOLD, init_limit_half_open $INIT_LIMIT_HALF_OPEN)"
echo "flood: cookies sent $(stat_of "$RUN/stats-flood.json" cookies-sent), accepted $(stat_of "$RUN/stats-flood.json" cookies-accepted), rejected $(stat_of "$RUN/stats-flood.json" cookies-rejected), secret rotations $(stat_of "$RUN/stats-flood.json" cookie-secret-rotations)"
echo "flood: drops: block_threshold $(stat_of "$RUN/stats-flood.json" init-blocked-per-ip), init_limit_half_open $(stat_of "$RUN/stats-flood.json" init-dropped-half-open-limit), all $(jq -c '.dropped' "$RUN/stats-flood.json")"
echo "flood: answers that reached the attacker namespace (and were dropped there): $((rx_after - rx_before))"
echo "flood: responder RSS before ${rss_before} kB, peak (VmHWM) ${rss_peak} kB, max polled ${max_rss} kB, after ${rss_end} kB"

result "flood: $COUNT forged IKE_SA_INIT requests sent within 60 s" $(( flood_rc == 0 && ${sent:-0} == COUNT ? 0 : 1 ))
cookies=$(stat_of "$RUN/stats-flood.json" cookies-sent)
received=$(stat_of "$RUN/stats-flood.json" datagrams-in)
result "flood: the responder answered with COOKIEs (at least 90% of the $received requests it received)" $(( cookies * 10 >= received * 9 && received > 0 ? 0 : 1 ))
if (( RATE > 0 )); then # paced: the responder keeps up; unpaced, the socket buffer overflows and the kernel drops
  result "flood: the responder received at least 90% of the requests at $RATE/s" $(( received * 10 >= COUNT * 9 ? 0 : 1 ))
fi
peak=$(stat_of "$RUN/stats-flood.json" half-open-peak)
result "flood: half-open IKE SAs never exceeded init_limit_half_open ($INIT_LIMIT_HALF_OPEN): peak $peak" $(( peak <= INIT_LIMIT_HALF_OPEN && max_half_open <= INIT_LIMIT_HALF_OPEN ? 0 : 1 ))
result "flood: half-open IKE SAs stayed within cookie_threshold + the legitimate peer: peak $peak" $(( peak <= COOKIE_THRESHOLD + 1 ? 0 : 1 ))
result "flood: responder memory bounded: peak RSS - RSS before = $(( rss_peak - rss_before )) kB <= $RSS_BOUND_KB kB" $(( rss_peak - rss_before <= RSS_BOUND_KB ? 0 : 1 ))
result "flood: answers to spoofed sources were routed into the attacker namespace" $(( rx_after - rx_before >= COUNT / 2 ? 0 : 1 ))

[[ $(cat "$RUN/initiate.rc" 2>/dev/null) == 0 ]] && SW --list-sas 2>/dev/null | grep -q ESTABLISHED
rc=$? # before the name: a command substitution in it would set $? again
result "flood: strongSwan established during the flood (it returned the COOKIE: accepted $(stat_of "$RUN/stats-flood.json" cookies-accepted))" $rc
ip netns exec "$NL" ping -c 3 -W 2 -I 192.0.2.65 192.0.2.97 >"$RUN/ping.out" 2>&1
result "flood: ping through the tunnel after the flood" $?

# ---- after: the forged half-open SAs time out (half_open_timeout) and nothing of them is left
sleep $((HALF_OPEN_TIMEOUT + 2))
OK stats --json >"$RUN/stats-after.json" 2>/dev/null
rss_after=$(rss_kb VmRSS)
echo "flood: after half_open_timeout: half-open $(stat_of "$RUN/stats-after.json" half-open), IKE SAs $(stat_of "$RUN/stats-after.json" ike-sas), RSS ${rss_after} kB"
result "flood: no half-open SA left after half_open_timeout, only the legitimate IKE SA" \
  $(( $(stat_of "$RUN/stats-after.json" half-open) == 0 && $(stat_of "$RUN/stats-after.json" ike-sas) == 1 ? 0 : 1 ))

# ---- worst case: no cookies (dos_protection = no), only the hard limit init_limit_half_open keeps state bounded
HARD_LIMIT=1000 COUNT2=${FLOOD_COUNT2:-20000}
stop_oakley
start_oakley no "$HARD_LIMIT" oakley-nodos.log
sleep 1
rss2_before=$(rss_kb VmRSS)
ip netns exec "$NX" dotnet "$OAKLEY_DLL" flood --target 192.0.2.2 --count "$COUNT2" --rate "$RATE" --seconds 60 \
  --sources 198.51.100.0/24,203.0.113.0/24 >"$RUN/flood2.out" 2>&1 &
FLOOD_PID=$!
max2=0 start=$SECONDS
while kill -0 "$FLOOD_PID" 2>/dev/null && (( SECONDS - start < 75 )); do
  OK stats --json >"$RUN/stats-now.json" 2>/dev/null && h=$(stat_of "$RUN/stats-now.json" half-open) && (( h > max2 )) && max2=$h
  sleep 1
done
wait "$FLOOD_PID"; FLOOD_PID=
OK stats --json >"$RUN/stats-nodos.json" 2>/dev/null
rss2_peak=$(rss_kb VmHWM)
peak2=$(stat_of "$RUN/stats-nodos.json" half-open-peak)
echo "flood (dos_protection = no, init_limit_half_open = $HARD_LIMIT): $(cat "$RUN/flood2.out")"
echo "flood (dos_protection = no): half-open peak $peak2 (max polled $max2), cookies sent $(stat_of "$RUN/stats-nodos.json" cookies-sent), dropped by init_limit_half_open $(stat_of "$RUN/stats-nodos.json" init-dropped-half-open-limit)"
echo "flood (dos_protection = no): responder RSS before ${rss2_before} kB, peak (VmHWM) ${rss2_peak} kB: $(( (rss2_peak - rss2_before) / (peak2 > 0 ? peak2 : 1) )) kB per half-open SA at most"
result "flood, no cookies: half-open IKE SAs never exceeded init_limit_half_open ($HARD_LIMIT): peak $peak2" $(( peak2 <= HARD_LIMIT && max2 <= HARD_LIMIT && peak2 > 0 ? 0 : 1 ))
result "flood, no cookies: requests over the limit were dropped" $(( $(stat_of "$RUN/stats-nodos.json" init-dropped-half-open-limit) > 0 ? 0 : 1 ))
result "flood, no cookies: responder memory bounded: peak RSS - RSS before = $(( rss2_peak - rss2_before )) kB <= $RSS_BOUND_KB kB" $(( rss2_peak - rss2_before <= RSS_BOUND_KB ? 0 : 1 ))

if (( failures > 0 )); then
  echo "--- oakley.log (tail)"; tail -20 "$RUN/oakley.log"
  echo "--- initiate.out"; cat "$RUN/initiate.out" 2>/dev/null
  echo "--- charon.log (tail)"; tail -20 "$RUN/sw/charon.log" 2>/dev/null
fi
exit $(( failures > 0 ))
