#!/usr/bin/env bash
# Benchmark (not run by test.sh): TCP throughput through an IPsec tunnel between two network namespaces,
#   (1) Oakley <-> Oakley      (both daemons with a TUN device, encap = yes: ESP-in-UDP)
#   (2) strongSwan <-> strongSwan (charon + kernel-libipsec on both sides: ESP-in-UDP, userspace)
#   (3) Oakley <-> strongSwan  (Oakley initiates; skip with PAIRS="oakley-oakley strongswan-strongswan")
#   (4) oakley-oakley-raw: Oakley <-> Oakley with raw ESP (IP protocol 50, no encap; only when named in PAIRS)
# all with aes256gcm16-prfsha256-x25519 / ESP aes256gcm16 and TS 198.51.100.0/24 <-> 203.0.113.0/24, measured
# with iperf3 TCP for DURATION seconds (default 10) in each direction (receiver's figure), printed as a table
# with the Oakley/strongSwan ratio per direction, iperf3's TCP retransmissions and the receiving namespace's UDP
# receive-buffer overflows (Udp RcvbufErrors). NS_PREFIX names the namespaces and veths (default tt).
# Usage: bench/tunnel-throughput.sh [path to oakley.dll]   (builds nothing; needs root, iperf3, strongSwan)
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
# The daemon: a framework-dependent oakley.dll (run by dotnet) or a native executable (the NativeAOT publish).
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
source "$(dirname "$0")/../tests/interop/lib.sh"
DURATION=${DURATION:-10}
PAIRS=${PAIRS:-oakley-oakley strongswan-strongswan oakley-strongswan}
ID=$$
NS_PREFIX=${NS_PREFIX:-tt} # namespace and interface prefix (two letters keep the veth names within 15 characters)
NA=${NS_PREFIX}A$ID
NB=${NS_PREFIX}B$ID
RUN=$(mktemp -d /tmp/oakley-tt.XXXXXX)
PIDS=() IPERF_PID=
declare -A MBPS RETR DROPS

stop_all() {
  local p
  [[ -n $IPERF_PID ]] && kill -TERM "$IPERF_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}" $IPERF_PID; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  PIDS=() IPERF_PID=
  # whatever the daemons left in the namespaces (TUN devices vanish with their process; routes in table 220)
  for ns in "$NA" "$NB"; do ip -n "$ns" route flush table 220 2>/dev/null; ip -n "$ns" -6 route flush table 220 2>/dev/null; done
}
cleanup() {
  stop_all
  ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT
for tool in ip dotnet iperf3 ping /usr/lib/ipsec/charon swanctl; do
  command -v "$tool" >/dev/null || { echo "tunnel-throughput: $tool is missing"; exit 1; }
done
[[ -f $OAKLEY_DLL ]] || { echo "tunnel-throughput: $OAKLEY_DLL not found (build src/Oakley.Cli in Release first)"; exit 1; }
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 300)) || { echo "tunnel-throughput: DURATION must be 1..300"; exit 1; }

# ---- topology (documentation addresses only) ----
make_pair "$NA" "$NB" "${NS_PREFIX}A$ID" "${NS_PREFIX}B$ID" || { echo "tunnel-throughput: cannot create namespaces"; exit 1; }

conf() { # local remote localid remoteid local_ts remote_ts extra-ike-line
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $1
    remote_addrs = $2
    proposals = aes256gcm16-prfsha256-x25519
    $7
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
  ike-ab {
    id-a = a.example
    id-b = b.example
    secret = "tunnel-throughput-psk-not-secret"
  }
}
CONF
}
conf_a() { conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24 "$1"; }
conf_b() { conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24 "$1"; }

start_oakley() { # NS NAME CONFTEXT
  printf '%s\n' "$3" >"$RUN/$2.conf"
  ip netns exec "$1" "${OAKLEY[@]}" daemon --config "$RUN/$2.conf" --control "$RUN/$2.ctl" --tun oakley0 --mtu 1400 >"$RUN/$2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -S $RUN/$2.ctl ]] && return 0; sleep 0.1; done
  echo "tunnel-throughput: Oakley in $1 did not start"; tail -5 "$RUN/$2.log"; return 1
}
start_charon() { # NS NAME CONFTEXT
  local d=$RUN/$2
  rm -rf "$d"; mkdir -p "$d/swanctl"
  printf '%s\n' "$3" >"$d/swanctl/swanctl.conf"
  launch_charon "$1" "$d"
  PIDS+=("$CHARON_STARTED")
  swanctl_in "$1" "$d" --load-all >"$d/load.out" 2>&1 \
    || { echo "tunnel-throughput: swanctl --load-all failed in $1"; cat "$d/load.out"; return 1; }
}

# udp_drops NS: the namespace's UDP receive-buffer overflows so far (Udp RcvbufErrors of /proc/net/snmp)
udp_drops() {
  ip netns exec "$1" awk '/^Udp:/ { if (!n++) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i } else print $c }' /proc/net/snmp
}

# iperf3 PAIR DIRLABEL [-R]: TCP from 198.51.100.1 to 203.0.113.1 (or reverse), the receiver's Mbit/s
iperf() {
  ip netns exec "$NB" iperf3 -s -1 -B 203.0.113.1 >"$RUN/iperf-s.out" 2>&1 &
  IPERF_PID=$!
  local receiver=$NB before
  [[ $3 == -R ]] && receiver=$NA
  before=$(udp_drops "$receiver")
  for _ in $(seq 20); do ip netns exec "$NB" ss -ltn 2>/dev/null | grep -q '203.0.113.1:5201' && break; sleep 0.1; done
  timeout $((DURATION + 20)) ip netns exec "$NA" iperf3 -c 203.0.113.1 -B 198.51.100.1 -t "$DURATION" -f m $3 >"$RUN/iperf-$1-$2.out" 2>&1
  kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null; IPERF_PID=
  MBPS[$1,$2]=$(awk '/receiver/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1)} END {print v}' "$RUN/iperf-$1-$2.out")
  DROPS[$1,$2]=$(($(udp_drops "$receiver") - before))
  RETR[$1,$2]=$(awk '/sender/ {for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i + 1)} END {print v}' "$RUN/iperf-$1-$2.out")
  [[ -n ${MBPS[$1,$2]} ]] || { echo "tunnel-throughput: $1 $2: iperf3 failed"; tail -3 "$RUN/iperf-$1-$2.out"; }
}

measure() { # PAIR: bring up, ping, iperf both ways, tear down
  local pair=$1 up=1
  case $pair in
    oakley-oakley | oakley-oakley-raw)
      local encap='encap = yes'
      [[ $pair == oakley-oakley-raw ]] && encap=''
      start_oakley "$NA" a "$(conf_a "$encap")" && start_oakley "$NB" b "$(conf_b "$encap")" \
        && ip netns exec "$NA" "${OAKLEY[@]}" initiate --child net --timeout 20 --control "$RUN/a.ctl" >/dev/null || up=0 ;;
    strongswan-strongswan)
      start_charon "$NA" swa "$(conf_a '')" && start_charon "$NB" swb "$(conf_b '')" \
        && swanctl_in "$NA" "$RUN/swa" --initiate --child net --timeout 20 >/dev/null || up=0 ;;
    oakley-strongswan)
      start_oakley "$NA" a "$(conf_a '')" && start_charon "$NB" swb "$(conf_b '')" \
        && ip netns exec "$NA" "${OAKLEY[@]}" initiate --child net --timeout 20 --control "$RUN/a.ctl" >/dev/null || up=0 ;;
  esac
  if ((up)) && ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1; then
    iperf "$pair" ab ""
    iperf "$pair" ba -R
  else
    echo "tunnel-throughput: $pair: tunnel did not come up"
  fi
  stop_all
}

START=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for pair in $PAIRS; do measure "$pair"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }
fmt() { if [[ -n $1 ]]; then printf '%.0f' "$1"; else printf 'n/a'; fi; }
echo
echo "tunnel-throughput: iperf3 TCP ${DURATION} s per direction, IKE aes256gcm16-prfsha256-x25519, ESP aes256gcm16 in UDP 4500 (oakley-oakley-raw: IP protocol 50),"
echo "198.51.100.1 (A) <-> 203.0.113.1 (B), veth 192.0.2.1 <-> 192.0.2.2, $(nproc) CPUs, $(date -u +%Y-%m-%d)"
# retransmits: iperf3's TCP retransmissions; UDP drops: the receiving end's UDP receive-buffer overflows
printf '%-30s %12s %12s %24s %20s\n' "pair (A <-> B)" "A->B Mbit/s" "B->A Mbit/s" "retransmits A->B / B->A" "UDP drops A->B / B->A"
for pair in $PAIRS; do
  printf '%-30s %12s %12s %24s %20s\n' "$pair" "$(fmt "${MBPS[$pair,ab]:-}")" "$(fmt "${MBPS[$pair,ba]:-}")" \
    "${RETR[$pair,ab]:-n/a} / ${RETR[$pair,ba]:-n/a}" "${DROPS[$pair,ab]:-n/a} / ${DROPS[$pair,ba]:-n/a}"
done
for pair in oakley-oakley oakley-strongswan; do
  if [[ " $PAIRS " == *" $pair "* && " $PAIRS " == *" strongswan-strongswan "* ]]; then
    printf '%-30s %12s %12s\n' "ratio $pair/sw-sw" "$(ratio "${MBPS[$pair,ab]:-}" "${MBPS[strongswan-strongswan,ab]:-}")" \
      "$(ratio "${MBPS[$pair,ba]:-}" "${MBPS[strongswan-strongswan,ba]:-}")"
  fi
done
echo "($((SECONDS - START)) s; load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); the run itself raises it, other work on the machine would skew the figures)"
