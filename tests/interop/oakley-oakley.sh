#!/usr/bin/env bash
# Oakley <-> Oakley in two network namespaces: IKEv2 PSK, traffic through TUN devices on both sides, in five
# setups: ESP in UDP (encap = yes), raw ESP (IP protocol 50, no NAT), a trap policy (start_action = trap) whose
# first packet triggers the negotiation, and transport mode between the two hosts; and an initiator without a pre-shared key, which must fail
# before IKE_AUTH. Prints "PASS name" / "FAIL name" lines; exits non-zero if any failed.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
source "$(dirname "$0")/lib.sh"
ID=$$
NA=ooA$ID
NB=ooB$ID
RUN=$(mktemp -d /tmp/oakley-oo.XXXXXX)
PID_A= PID_B= IPERF_PID= CAPTURE_PID=
failures=0
stop_daemons() {
  for p in $IPERF_PID $CAPTURE_PID $PID_A $PID_B; do kill -TERM "$p" 2>/dev/null; done
  for p in $IPERF_PID $CAPTURE_PID $PID_A $PID_B; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  IPERF_PID= CAPTURE_PID= PID_A= PID_B=
}
cleanup() {
  stop_daemons
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip dotnet iperf3 ping tshark; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done

make_pair "$NA" "$NB" "oA$ID" "oB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }

conf() { # local remote localid remoteid local_ts remote_ts encap start_action [mode]; "-" selectors: the hosts (dynamic)
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = aes256gcm16-prfsha256-x25519
    encap = $7
    local {
      auth = psk
      id = $3
    }
    remote {
      auth = psk
      id = $4
    }
    children {
      net {
$( [[ $5 != - ]] && printf '        local_ts = %s\n        remote_ts = %s\n' "$5" "$6" )
        esp_proposals = aes256gcm16
        start_action = $8
        mode = ${9:-tunnel}
      }
    }
  }
}
secrets {
  ike {
    id-a = a.example
    id-b = b.example
    secret = "oakley-to-oakley"
  }
}
CONF
}

start_daemons() { # encap start_action_of_A label [mode]
  if [[ ${4:-tunnel} == transport ]]; then
    conf 192.0.2.1 192.0.2.2 a.example b.example - - "$1" "$2" transport >"$RUN/a.conf"
    conf 192.0.2.2 192.0.2.1 b.example a.example - - "$1" none transport >"$RUN/b.conf"
  else
    conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 "$1" "$2" >"$RUN/a.conf"
    conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 "$1" none >"$RUN/b.conf"
  fi
  launch_daemons "$3"
}
launch_daemons() { # label: runs both daemons on $RUN/a.conf and $RUN/b.conf, waits for their control sockets
  rm -f "$RUN/a.ctl" "$RUN/b.ctl"
  ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" >"$RUN/a-$1.log" 2>&1 &
  PID_A=$!
  ip netns exec "$NB" dotnet "$OAKLEY_DLL" daemon --config "$RUN/b.conf" --control "$RUN/b.ctl" >"$RUN/b-$1.log" 2>&1 &
  PID_B=$!
  for _ in $(seq 100); do [[ -S $RUN/a.ctl && -S $RUN/b.ctl ]] && break; sleep 0.1; done
}
OAK() { local ns=$1 ctl=$2; shift 2; ip netns exec "$ns" dotnet "$OAKLEY_DLL" "$@" --control "$ctl"; }

# start_capture FILE [FILTER]: raw ESP (IP protocol 50), or what FILTER selects, on B's link into FILE; stop_capture ends it.
start_capture() { # FILE [capture filter, default raw ESP]
  ip netns exec "$NB" tshark -i "oB$ID" -f "${2:-ip proto 50}" -w "$1" >"$1.log" 2>&1 &
  CAPTURE_PID=$!
  for _ in $(seq 50); do grep -q "Capturing on" "$1.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5 # "Capturing on" is printed a moment before the capture is live
}
stop_capture() {
  sleep 0.5
  kill -INT "$CAPTURE_PID" 2>/dev/null; wait "$CAPTURE_PID" 2>/dev/null; CAPTURE_PID=
}

traffic() { # label
  ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1
  result "oakley-oakley $1: ping A -> B" $?
  ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1 >/dev/null 2>&1
  result "oakley-oakley $1: ping B -> A" $?
  for dir in "" "-R"; do
    ip netns exec "$NB" iperf3 -s -1 -B 203.0.113.1 >/dev/null 2>&1 &
    IPERF_PID=$!
    sleep 0.5
    timeout 20 ip netns exec "$NA" iperf3 -c 203.0.113.1 -B 198.51.100.1 -t 5 $dir -f m >"$RUN/iperf.out" 2>&1
    local rc=$?
    kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null; IPERF_PID=
    grep -E "receiver" "$RUN/iperf.out" | sed "s/^/  iperf3 oakley-oakley $1 ${dir:-forward}: /"
    [[ $rc -eq 0 ]] && grep -q receiver "$RUN/iperf.out"
    result "oakley-oakley $1: iperf3 TCP 5 s ${dir:-forward}" $?
  done
  # No packet may have been dropped for a bad ICV, replay, padding or malformed framing on either side.
  local drops
  drops=$( { OAK "$NA" "$RUN/a.ctl" stats --json; OAK "$NB" "$RUN/b.ctl" stats --json; } 2>/dev/null \
    | grep -E '"(bad-icv|bad-padding|malformed|unknown-spi|policy-mismatch|no-socket)"' | grep -vc ': 0')
  [[ $drops -eq 0 ]]
  result "oakley-oakley $1: no ESP drops on either side" $?
}

# ---- 1. ESP in UDP (encap = yes) ----
start_daemons yes none udp
OAK "$NA" "$RUN/a.ctl" initiate --child net --timeout 20 >/dev/null 2>&1
result "oakley-oakley udp: IKE and CHILD SA up (encap = yes)" $?
OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -q '"encap": true'
result "oakley-oakley udp: CHILD SA is UDP-encapsulated" $?
traffic udp
stop_daemons

# ---- 2. raw ESP (no NAT, no encap): the packets on the wire are IP protocol 50 ----
start_daemons no none raw
OAK "$NA" "$RUN/a.ctl" initiate --child net --timeout 20 >/dev/null 2>&1
result "oakley-oakley raw: IKE and CHILD SA up (no NAT)" $?
OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -q '"encap": false'
result "oakley-oakley raw: CHILD SA is not encapsulated" $?
start_capture "$RUN/raw.pcap"
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1
stop_capture
esp=$(tshark -r "$RUN/raw.pcap" -Y "esp && !udp" 2>/dev/null | wc -l)
echo "  raw ESP packets captured: $esp"
[[ $esp -ge 4 ]]
result "oakley-oakley raw: ping travels as raw ESP (IP protocol 50) both ways" $?
traffic raw
stop_daemons

# ---- 3. start_action = trap: the first packet is held, triggers IKE, and is delivered ----
start_daemons no trap trap
sleep 1
OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -q '"child-sas": \[\]\|"ike-sas": \[\]'
result "oakley-oakley trap: no SA before traffic" $?
ip netns exec "$NA" ping -c 1 -W 5 -I 198.51.100.1 203.0.113.1 >"$RUN/trap-ping.out" 2>&1
result "oakley-oakley trap: the first packet triggers the SA and gets its reply" $?
OAK "$NA" "$RUN/a.ctl" stats --json 2>/dev/null | grep -q '"acquires": [1-9]'
result "oakley-oakley trap: the acquire is counted" $?
ip netns exec "$NB" ping -c 2 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1 >/dev/null 2>&1
result "oakley-oakley trap: ping B -> A over the triggered SA" $?
# The trap outlives its SA and a reload: after terminate and load-all, the next packet negotiates again.
OAK "$NA" "$RUN/a.ctl" terminate --ike tunnel >/dev/null 2>&1
sleep 1
OAK "$NA" "$RUN/a.ctl" load-all >/dev/null 2>&1 \
  && ip netns exec "$NA" ping -c 1 -W 5 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1 \
  && OAK "$NA" "$RUN/a.ctl" stats --json 2>/dev/null | grep -q '"acquires": [2-9]'
result "oakley-oakley trap: after terminate and load-all the next packet triggers a new SA" $?
stop_daemons

# ---- 4. transport mode between the two hosts (raw ESP): only the payload is protected ----
start_daemons no none transport transport
OAK "$NA" "$RUN/a.ctl" initiate --child net --timeout 20 >/dev/null 2>&1
result "oakley-oakley transport: IKE and CHILD SA up" $?
OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -q '"mode": "TRANSPORT"'
result "oakley-oakley transport: CHILD SA is in transport mode" $?
start_capture "$RUN/transport.pcap"
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 192.0.2.2 >/dev/null 2>&1
result "oakley-oakley transport: ping A -> B (host to host)" $?
ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 192.0.2.1 >/dev/null 2>&1
result "oakley-oakley transport: ping B -> A (host to host)" $?
stop_capture
esp=$(tshark -r "$RUN/transport.pcap" -Y "esp" 2>/dev/null | wc -l)
echo "  transport-mode ESP packets captured: $esp"
[[ $esp -ge 12 ]]
result "oakley-oakley transport: the pings travel as ESP" $?
ip netns exec "$NB" iperf3 -s -1 -B 192.0.2.2 >/dev/null 2>&1 &
IPERF_PID=$!
sleep 0.5
timeout 20 ip netns exec "$NA" iperf3 -c 192.0.2.2 -t 3 -f m >"$RUN/iperf.out" 2>&1
rc=$?
kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null; IPERF_PID=
grep -E "receiver" "$RUN/iperf.out" | sed "s/^/  iperf3 oakley-oakley transport: /"
[[ $rc -eq 0 ]] && grep -q receiver "$RUN/iperf.out"
result "oakley-oakley transport: iperf3 TCP 3 s host to host" $?
stop_daemons

# ---- 5. no pre-shared key on the initiator: it fails locally and never sends IKE_AUTH (issue 12's auth hole) ----
conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 no none | sed '/^secrets {/,$d' >"$RUN/a.conf"
conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 no none >"$RUN/b.conf"
launch_daemons nokey
start_capture "$RUN/nokey.pcap" "udp port 500 or udp port 4500"
out=$(OAK "$NA" "$RUN/a.ctl" initiate --child net --timeout 10 2>&1)
rc=$?
stop_capture
echo "  initiate without a key: $out"
[[ $rc -ne 0 ]] && grep -q "no shared key found for 'a.example' - 'b.example'" <<<"$out"
result "oakley-oakley nokey: initiate fails naming both identities" $?
init=$(tshark -r "$RUN/nokey.pcap" -Y "isakmp.exchangetype == 34" 2>/dev/null | wc -l)
auth=$(tshark -r "$RUN/nokey.pcap" -Y "isakmp.exchangetype == 35" 2>/dev/null | wc -l)
echo "  without a key: $init IKE_SA_INIT and $auth IKE_AUTH messages on the wire"
[[ $init -ge 2 && $auth -eq 0 ]] \
  && ! OAK "$NB" "$RUN/b.ctl" list-sas --json 2>/dev/null | grep -q '"state": "ESTABLISHED"' \
  && ! OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -q '"state": "ESTABLISHED"'
result "oakley-oakley nokey: IKE_SA_INIT only, no IKE_AUTH on the wire, no IKE SA on either side" $?
stop_daemons

if ((failures > 0)); then tail -n 20 "$RUN"/*.log; fi
exit $((failures > 0))
