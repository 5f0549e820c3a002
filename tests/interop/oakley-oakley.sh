#!/usr/bin/env bash
# Oakley <-> Oakley in two network namespaces: IKEv2 PSK, ESP-in-UDP (encap = yes), traffic through TUN
# devices on both sides. Prints "PASS name" / "FAIL name" lines; exits non-zero if any failed.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
ID=$$
NA=ooA$ID
NB=ooB$ID
RUN=$(mktemp -d /tmp/oakley-oo.XXXXXX)
PID_A= PID_B= IPERF_PID=
failures=0
cleanup() {
  for p in $IPERF_PID $PID_A $PID_B; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in $IPERF_PID $PID_A $PID_B; do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip dotnet iperf3 ping; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done

ip netns add "$NA" && ip netns add "$NB" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
ip link add "oA$ID" type veth peer name "oB$ID"
ip link set "oA$ID" netns "$NA"; ip link set "oB$ID" netns "$NB"
ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
ip -n "$NA" addr add 192.0.2.1/24 dev "oA$ID"; ip -n "$NB" addr add 192.0.2.2/24 dev "oB$ID"
ip -n "$NA" addr add 198.51.100.1/32 dev lo; ip -n "$NB" addr add 203.0.113.1/32 dev lo
ip -n "$NA" link set "oA$ID" up; ip -n "$NB" link set "oB$ID" up

conf() { # local remote localid remoteid local_ts remote_ts
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = aes256gcm16-prfsha256-x25519
    encap = yes
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
        local_ts = $5
        remote_ts = $6
        esp_proposals = aes256gcm16
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
conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 >"$RUN/a.conf"
conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 >"$RUN/b.conf"
ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" >"$RUN/a.log" 2>&1 &
PID_A=$!
ip netns exec "$NB" dotnet "$OAKLEY_DLL" daemon --config "$RUN/b.conf" --control "$RUN/b.ctl" >"$RUN/b.log" 2>&1 &
PID_B=$!
for _ in $(seq 100); do [[ -S $RUN/a.ctl && -S $RUN/b.ctl ]] && break; sleep 0.1; done

ip netns exec "$NA" dotnet "$OAKLEY_DLL" initiate --child net --timeout 20 --control "$RUN/a.ctl" >/dev/null 2>&1
result "oakley-oakley IKE and CHILD SA up (encap = yes)" $?
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1
result "oakley-oakley ping A -> B" $?
ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1 >/dev/null 2>&1
result "oakley-oakley ping B -> A" $?
for dir in "" "-R"; do
  ip netns exec "$NB" iperf3 -s -1 -B 203.0.113.1 >/dev/null 2>&1 &
  IPERF_PID=$!
  sleep 0.5
  timeout 20 ip netns exec "$NA" iperf3 -c 203.0.113.1 -B 198.51.100.1 -t 5 $dir -f m >"$RUN/iperf.out" 2>&1
  rc=$?
  kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null; IPERF_PID=
  grep -E "receiver" "$RUN/iperf.out" | sed "s/^/  iperf3 oakley-oakley ${dir:-forward}: /"
  [[ $rc -eq 0 ]] && grep -q receiver "$RUN/iperf.out"
  result "oakley-oakley iperf3 TCP 5 s ${dir:-forward}" $?
done
if ((failures > 0)); then tail -20 "$RUN/a.log" "$RUN/b.log"; fi
exit $((failures > 0))
