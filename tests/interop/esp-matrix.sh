#!/usr/bin/env bash
# Interop ESP matrix: Oakley <-> strongSwan 5.9 (charon + kernel-libipsec, ESP-in-UDP on 4500) with real
# packets through both data planes, both roles (Oakley initiates; strongSwan initiates with swanctl --initiate).
#   topology 1, IPv4 outer (192.0.2.1 <-> 192.0.2.2), one IKE SA with four CHILD SAs:
#     v6     2001:db8:a::/64     <-> 2001:db8:b::/64      aes256gcm16       (IPv6 inner over IPv4 outer)
#     gcm    198.51.100.0/26     <-> 203.0.113.0/26       aes256gcm16
#     chacha 198.51.100.64/26    <-> 203.0.113.64/26      chacha20poly1305
#     cbc    198.51.100.128/26   <-> 203.0.113.128/26     aes128-sha256
#   topology 2, IPv6 outer (2001:db8:1::1 <-> 2001:db8:1::2):
#     net4   198.51.100.0/24     <-> 203.0.113.0/24       aes256gcm16       (IPv4 inner over IPv6 outer)
# Each CHILD SA: a ping each way from the inner addresses, and `oakley list-sas --json` (plus swanctl) must show
# the expected ESP algorithm and count the pings on that very CHILD SA.
# Usage: tests/interop/esp-matrix.sh [path to oakley.dll]. Needs root, iproute2, strongSwan (test.sh installs them).
# Prints one "PASS name" / "FAIL name" line per check and exits non-zero if any failed.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
source "$(dirname "$0")/lib.sh"
ID=$$
RUN=$(mktemp -d /tmp/oakley-esp-matrix.XXXXXX)
NSES=()
NA= NB= CHARON_PID= OAKLEY_PID=
failures=0
START=$SECONDS

stop_peers() {
  [[ -n $OAKLEY_PID ]] && kill -TERM "$OAKLEY_PID" 2>/dev/null
  [[ -n $CHARON_PID ]] && kill -TERM "$CHARON_PID" 2>/dev/null
  for _ in $(seq 30); do
    { [[ -z $OAKLEY_PID ]] || ! kill -0 "$OAKLEY_PID" 2>/dev/null; } && { [[ -z $CHARON_PID ]] || ! kill -0 "$CHARON_PID" 2>/dev/null; } && break
    sleep 0.1
  done
  [[ -n $OAKLEY_PID ]] && kill -KILL "$OAKLEY_PID" 2>/dev/null
  [[ -n $CHARON_PID ]] && kill -KILL "$CHARON_PID" 2>/dev/null
  [[ -n $OAKLEY_PID ]] && wait "$OAKLEY_PID" 2>/dev/null
  [[ -n $CHARON_PID ]] && wait "$CHARON_PID" 2>/dev/null
  OAKLEY_PID= CHARON_PID=
}
cleanup() {
  stop_peers
  for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$RUN"
}
trap cleanup EXIT

result() { # name, status
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

for tool in ip /usr/lib/ipsec/charon swanctl dotnet ping; do
  command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }
done
[[ -f $OAKLEY_DLL ]] || { echo "FAIL setup: $OAKLEY_DLL not built"; exit 1; }

# ---- building blocks ----
# topology TAG FAMILY: namespaces emA<TAG><pid> (Oakley) and emB<TAG><pid> (strongSwan) joined by a veth;
# FAMILY 4: 192.0.2.1/24 <-> 192.0.2.2/24; 6: 2001:db8:1::1/64 <-> 2001:db8:1::2/64 (nodad).
topology() {
  NA=emA$1$ID NB=emB$1$ID
  ip netns add "$NA" && NSES+=("$NA") && ip netns add "$NB" && NSES+=("$NB") || { echo "FAIL setup: cannot create namespaces"; exit 1; }
  ip link add "ea$1$ID" type veth peer name "eb$1$ID"
  ip link set "ea$1$ID" netns "$NA"; ip link set "eb$1$ID" netns "$NB"
  ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
  if [[ $2 == 4 ]]; then
    ip -n "$NA" addr add 192.0.2.1/24 dev "ea$1$ID"; ip -n "$NB" addr add 192.0.2.2/24 dev "eb$1$ID"
  else
    ip -n "$NA" -6 addr add 2001:db8:1::1/64 dev "ea$1$ID" nodad; ip -n "$NB" -6 addr add 2001:db8:1::2/64 dev "eb$1$ID" nodad
  fi
  ip -n "$NA" link set "ea$1$ID" up; ip -n "$NB" link set "eb$1$ID" up
}

# conf LOCAL REMOTE LOCALID REMOTEID SIDE CHILD...  where CHILD is name|a-side-ts|b-side-ts|esp_proposals;
# SIDE a or b picks which TS is local. The same function writes both peers' files (mirror images).
conf() {
  local local_addr=$1 remote_addr=$2 lid=$3 rid=$4 side=$5; shift 5
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $local_addr
    remote_addrs = $remote_addr
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = $lid
    }
    remote {
      auth = psk
      id = $rid
    }
    children {
CONF
  local c name ats bts esp
  for c in "$@"; do
    IFS='|' read -r name ats bts esp <<<"$c"
    if [[ $side == b ]]; then local t=$ats; ats=$bts; bts=$t; fi
    cat <<CONF
      $name {
        local_ts = $ats
        remote_ts = $bts
        esp_proposals = $esp
      }
CONF
  done
  cat <<CONF
    }
  }
}
secrets {
  ike-ab {
    id-a = a.example
    id-b = b.example
    secret = "esp-matrix-psk-not-secret"
  }
}
CONF
}

# start_peers A_OUTER B_OUTER CHILD...: charon in $NB, the Oakley daemon (TUN oakley0) in $NA
start_peers() {
  local a=$1 b=$2; shift 2
  local sw=$RUN/$NB
  mkdir -p "$sw/swanctl"
  conf "$b" "$a" b.example a.example b "$@" >"$sw/swanctl/swanctl.conf"
  conf "$a" "$b" a.example b.example a "$@" >"$RUN/$NA.conf"
  launch_charon "$NB" "$sw"
  CHARON_PID=$CHARON_STARTED
  ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/$NA.conf" --control "$RUN/$NA.ctl" --tun oakley0 --mtu 1400 >"$RUN/$NA.log" 2>&1 &
  OAKLEY_PID=$!
  for _ in $(seq 100); do [[ -S $sw/run/charon.vici && -S $RUN/$NA.ctl ]] && break; sleep 0.1; done
  SW --load-all >"$sw/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$sw/load.out" "$sw/charon.out"; exit 1; }
  [[ -S $RUN/$NA.ctl ]] || { echo "FAIL setup: the Oakley daemon did not start"; cat "$RUN/$NA.log"; exit 1; }
}
SW() { swanctl_in "$NB" "$RUN/$NB" "$@"; }
OK() { ip netns exec "$NA" dotnet "$OAKLEY_DLL" "$@" --control "$RUN/$NA.ctl"; }
clear_sas() {
  OK terminate >/dev/null 2>&1
  SW --terminate --ike tunnel --timeout 5 >/dev/null 2>&1
  for _ in $(seq 30); do
    ! SW --list-sas 2>/dev/null | grep -q ESTABLISHED && ! OK list-sas 2>/dev/null | grep -q ESTABLISHED && break
    sleep 0.1
  done
}
up() { # WHO CHILD
  if [[ $1 == oakley ]]; then OK initiate --child "$2" --timeout 20 >/dev/null 2>&1; else SW --initiate --child "$2" --timeout 20 >/dev/null 2>&1; fi
}
# ok_child CHILD: the CHILD SA's object from `oakley list-sas --json`, one "key": value per line
ok_child() {
  OK list-sas --json 2>/dev/null | awk -v want="\"name\": \"$1\"" '
    /"child-sas"/ { inchild = 1 }
    inchild && index($0, want) { grab = 1 }
    grab { print }
    grab && /^ *}/ { exit }'
}
ok_field() { sed -nE "s/^ *\"$2\": \"?([^\",]*)\"?,?$/\1/p" <<<"$1" | head -1; }
# sw_child CHILD: strongSwan's lines for that CHILD SA (algorithms on the first line)
sw_child() { SW --list-sas 2>/dev/null | awk -v c="  $1: " 'index($0, c) == 1 {f = 1; print; next} f && /^  [^ ].*: #/ {exit} f {print}'; }
# no_esp_drops LABEL: Oakley's data plane dropped no ESP packet for a bad ICV, bad padding, replay or as malformed
no_esp_drops() {
  local d
  d=$(OK stats --json 2>/dev/null | awk '/"esp-drops"/ {f = 1} f {print} f && /}/ {exit}')
  grep -q '"bad-icv": 0' <<<"$d" && grep -q '"bad-padding": 0' <<<"$d" && grep -q '"replay": 0' <<<"$d" && grep -q '"malformed": 0' <<<"$d"
  local rc=$?
  ((rc)) && echo "  oakley esp-drops: $(tr -d '\n' <<<"$d")"
  result "$1: oakley stats shows no ESP drops (bad-icv, bad-padding, replay, malformed all 0)" $rc
}
ping_ab() { ip netns exec "$NA" ping "${@:3}" -c 3 -i 0.2 -W 2 -I "$1" "$2" >"$RUN/ping.out" 2>&1; }
ping_ba() { ip netns exec "$NB" ping "${@:3}" -c 3 -i 0.2 -W 2 -I "$1" "$2" >"$RUN/ping.out" 2>&1; }
# alg_check WHO CHILD ENCR KEYSIZE INTEG SWNAME: Oakley (encr-alg, encr-keysize: 0 when the transform carries no
# key length, as ChaCha20-Poly1305; integ-alg: null for AEAD) and strongSwan both report the expected ESP algorithm,
# and Oakley counted at least the 6 packets of the two pings in each direction of that CHILD SA
alg_check() {
  local j e k i pin pout s
  j=$(ok_child "$2"); e=$(ok_field "$j" encr-alg); k=$(ok_field "$j" encr-keysize); i=$(ok_field "$j" integ-alg)
  [[ $i == null ]] && i=
  pin=$(ok_field "$j" packets-in); pout=$(ok_field "$j" packets-out); s=$(sw_child "$2" | head -1)
  [[ $e == "$3" && $k == "$4" && $i == "$5" && ${pin:-0} -ge 6 && ${pout:-0} -ge 6 ]] && grep -qE "ESP:$6(,|$)" <<<"$s"
  local rc=$?
  ((rc)) && echo "  oakley: encr=$e keysize=$k integ=$i packets-in=$pin packets-out=$pout; strongswan: $s"
  result "$1-initiates $2: oakley list-sas shows ESP $6 (strongSwan agrees), pings counted on the CHILD SA" $rc
}

# ---- topology 1: IPv4 outer; IPv6 inner and three ESP algorithms on one IKE SA ----
topology 4 4
ip -n "$NA" addr add 198.51.100.1/32 dev lo; ip -n "$NA" addr add 198.51.100.65/32 dev lo; ip -n "$NA" addr add 198.51.100.129/32 dev lo
ip -n "$NB" addr add 203.0.113.1/32 dev lo; ip -n "$NB" addr add 203.0.113.65/32 dev lo; ip -n "$NB" addr add 203.0.113.129/32 dev lo
ip -n "$NA" -6 addr add 2001:db8:a::1/128 dev lo nodad; ip -n "$NB" -6 addr add 2001:db8:b::1/128 dev lo nodad
start_peers 192.0.2.1 192.0.2.2 \
  "v6|2001:db8:a::/64|2001:db8:b::/64|aes256gcm16" \
  "gcm|198.51.100.0/26|203.0.113.0/26|aes256gcm16" \
  "chacha|198.51.100.64/26|203.0.113.64/26|chacha20poly1305" \
  "cbc|198.51.100.128/26|203.0.113.128/26|aes128-sha256"
for who in oakley strongswan; do
  for child in v6 gcm chacha cbc; do
    up "$who" "$child"
    result "$who-initiates IPv4 outer: CHILD SA $child up" $?
  done
  ping_ab 2001:db8:a::1 2001:db8:b::1 -6
  result "$who-initiates IPv6 inner over IPv4 outer: ping -6 2001:db8:a::1 -> 2001:db8:b::1" $?
  ping_ba 2001:db8:b::1 2001:db8:a::1 -6
  result "$who-initiates IPv6 inner over IPv4 outer: ping -6 2001:db8:b::1 -> 2001:db8:a::1" $?
  alg_check "$who" v6 AES_GCM_16 256 "" AES_GCM_16-256
  for spec in "gcm|1|AES_GCM_16|256||AES_GCM_16-256" "chacha|65|CHACHA20_POLY1305|0||CHACHA20_POLY1305" \
              "cbc|129|AES_CBC|128|HMAC_SHA2_256_128|AES_CBC-128/HMAC_SHA2_256_128"; do
    IFS='|' read -r child host encr keysize integ swname <<<"$spec"
    ping_ab "198.51.100.$host" "203.0.113.$host"
    result "$who-initiates $child: ping 198.51.100.$host -> 203.0.113.$host" $?
    ping_ba "203.0.113.$host" "198.51.100.$host"
    result "$who-initiates $child: ping 203.0.113.$host -> 198.51.100.$host" $?
    alg_check "$who" "$child" "$encr" "$keysize" "$integ" "$swname"
  done
  [[ -n ${VERBOSE:-} ]] && { OK list-sas; SW --list-sas; }
  clear_sas
done
no_esp_drops "IPv4 outer, both roles"
if ((failures > 0)); then
  echo "--- oakley.log (IPv4 outer)"; tail -40 "$RUN/$NA.log"
  echo "--- charon.log (IPv4 outer)"; tail -60 "$RUN/$NB/charon.log"
fi
stop_peers
t1=$failures

# ---- topology 2: IPv6 outer, IPv4 inner ----
topology 6 6
ip -n "$NA" addr add 198.51.100.1/32 dev lo; ip -n "$NB" addr add 203.0.113.1/32 dev lo
start_peers 2001:db8:1::1 2001:db8:1::2 "net4|198.51.100.0/24|203.0.113.0/24|aes256gcm16"
for who in oakley strongswan; do
  up "$who" net4
  rc=$?
  [[ $rc -eq 0 ]] && OK list-sas --json 2>/dev/null | grep -q '"remote-host": "2001:db8:1::2"' \
    && OK list-sas --json 2>/dev/null | grep -q '"remote-port": 4500'
  result "$who-initiates IPv6 outer: IKE SA 2001:db8:1::1 <-> 2001:db8:1::2 floated to 4500, CHILD SA net4 up" $?
  ping_ab 198.51.100.1 203.0.113.1
  result "$who-initiates IPv4 inner over IPv6 outer: ping 198.51.100.1 -> 203.0.113.1" $?
  ping_ba 203.0.113.1 198.51.100.1
  result "$who-initiates IPv4 inner over IPv6 outer: ping 203.0.113.1 -> 198.51.100.1" $?
  alg_check "$who" net4 AES_GCM_16 256 "" AES_GCM_16-256
  [[ -n ${VERBOSE:-} ]] && { OK list-sas; SW --list-sas; }
  clear_sas
done
no_esp_drops "IPv6 outer, both roles"
if ((failures > t1)); then
  echo "--- oakley.log (IPv6 outer)"; tail -40 "$RUN/$NA.log"
  echo "--- charon.log (IPv6 outer)"; tail -60 "$RUN/$NB/charon.log"
fi
echo "esp-matrix: $((SECONDS - START)) s"
exit $((failures > 0))
