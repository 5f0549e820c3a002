#!/usr/bin/env bash
# Interop: NAT traversal between Oakley and strongSwan 5.9 (charon + kernel-libipsec) through real nftables NATs.
# Four namespaces in a row (documentation ranges only):
#   A 192.0.2.1/26 (inner 203.0.113.1) -- R1 192.0.2.62 | 198.51.100.1 -- R2 198.51.100.2 | 192.0.2.126 -- B 192.0.2.65/26 (inner 203.0.113.129)
#   R1 masquerades A (with random ports, so that a new mapping gets a new port); R2 routes 192.0.2.64/26 and
#   forwards UDP 500/4500 sent to 198.51.100.2 to B (a static NAT in front of B; only used when A aims at it).
# Cases:
#   1  Oakley (A, behind R1's NAT) initiates to strongSwan (B, reached directly at 192.0.2.65)
#   2  strongSwan (A, behind R1's NAT) initiates to Oakley (B)
#   3a both behind NAT: Oakley (A, behind R1) initiates to strongSwan (B, behind R2, reached at 198.51.100.2)
#   3b both behind NAT: strongSwan (A, behind R1) initiates to Oakley (B, behind R2)
# Each case: CHILD SA up, ping through the tunnel, NAT detected as expected (Oakley's list-sas and charon.log),
# and, where Oakley is behind a NAT, its keepalives (--keep-alive 2) seen both in its counter and by an nft
# counter on the router for one-byte UDP datagrams from Oakley's address and port 4500 (none where it is not).
# Cases 1, 2 and 3a also flush R1's conntrack table: the NATed side's next packets leave from a new external
# port; without MOBIKE the side not behind the NAT follows it (RFC 7296 §2.23); with MOBIKE (3a) Oakley's
# liveness check (NAT_DETECTION_* inside, dpd_delay 10 s) shows the new mapping and Oakley sends
# UPDATE_SA_ADDRESSES. Either way the tunnel recovers with the same IKE SA.
# Cases 1 and 2 run with mobike = no (implicit address updates, RFC 7296 §2.23); 3a and 3b with the default
# mobike = yes (MOBIKE negotiated, no implicit updates; see mobike.sh).
# Usage: tests/interop/nat.sh [path to oakley.dll]. Needs root, iproute2, nftables, conntrack, strongSwan.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=natA$ID NR1=natR1$ID NR2=natR2$ID NB=natB$ID
RUN=$(mktemp -d /tmp/oakley-nat.XXXXXX)
CHARON_PID= OAKLEY_PID=
stop_daemons() {
  stop_pids "$OAKLEY_PID" "$CHARON_PID"
  OAKLEY_PID= CHARON_PID=
}
keep_logs() { [[ -n ${KEEP_LOGS:-} ]] && rm -rf "$KEEP_LOGS" && cp -r "$RUN" "$KEEP_LOGS"; } # KEEP_LOGS=DIR: a copy of RUN
on_exit_run keep_logs
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NR1" "$NR2" "$NB"
need_tools ip nft conntrack /usr/lib/ipsec/charon swanctl dotnet ping

# ---- topology ----
setup() {
  for ns in $NA $NR1 $NR2 $NB; do ip netns add "$ns" || return 1; ip -n "$ns" link set lo up; done
  ip link add a$ID type veth peer name r1a$ID && ip link set a$ID netns "$NA" && ip link set r1a$ID netns "$NR1"
  ip link add r1t$ID type veth peer name r2t$ID && ip link set r1t$ID netns "$NR1" && ip link set r2t$ID netns "$NR2"
  ip link add r2b$ID type veth peer name b$ID && ip link set r2b$ID netns "$NR2" && ip link set b$ID netns "$NB"
  ip -n "$NA" addr add 192.0.2.1/26 dev a$ID; ip -n "$NA" link set a$ID up; ip -n "$NA" route add default via 192.0.2.62
  ip -n "$NA" addr add 203.0.113.1/32 dev lo
  ip -n "$NR1" addr add 192.0.2.62/26 dev r1a$ID; ip -n "$NR1" addr add 198.51.100.1/24 dev r1t$ID
  ip -n "$NR1" link set r1a$ID up; ip -n "$NR1" link set r1t$ID up
  ip -n "$NR1" route add 192.0.2.64/26 via 198.51.100.2
  ip -n "$NR2" addr add 198.51.100.2/24 dev r2t$ID; ip -n "$NR2" addr add 192.0.2.126/26 dev r2b$ID
  ip -n "$NR2" link set r2t$ID up; ip -n "$NR2" link set r2b$ID up
  ip -n "$NB" addr add 192.0.2.65/26 dev b$ID; ip -n "$NB" link set b$ID up; ip -n "$NB" route add default via 192.0.2.126
  ip -n "$NB" addr add 203.0.113.129/32 dev lo
  ip netns exec "$NR1" sysctl -qw net.ipv4.ip_forward=1 && ip netns exec "$NR2" sysctl -qw net.ipv4.ip_forward=1 || return 1
  ip netns exec "$NR1" nft -f - <<NFT || return 1
table ip nat {
  chain post { type nat hook postrouting priority srcnat; oifname "r1t$ID" masquerade random; }
}
table ip keepalive_count {
  chain forward_count { type filter hook forward priority 0; ip saddr 192.0.2.1 udp sport 4500 udp length 9 counter; }
}
NFT
  ip netns exec "$NR2" nft -f - <<NFT || return 1
table ip nat {
  chain pre { type nat hook prerouting priority dstnat; iifname "r2t$ID" ip daddr 198.51.100.2 udp dport { 500, 4500 } dnat to 192.0.2.65; }
}
table ip keepalive_count {
  chain forward_count { type filter hook forward priority 0; ip saddr 192.0.2.65 udp sport 4500 udp length 9 counter; }
}
NFT
}
setup || setup_fail "cannot build the namespaces and NATs"

conf() { # local_addrs remote_addrs local_id remote_id local_ts remote_ts mobike
  psk_conf "$1" "$2" "$3" "$4" "$5" "$6" nat-interop-psk "mobike = $7
dpd_delay = 10s"
}

# start_case DIR OAKLEY_NS: launches charon in the other namespace and Oakley in OAKLEY_NS (configs written by the caller).
start_case() {
  local dir=$1 ons=$2 sns
  [[ $ons == "$NA" ]] && sns=$NB || sns=$NA
  SW_NS=$sns OK_NS=$ons CASE=$dir
  launch_charon "$sns" "$dir/sw" || return 1
  CHARON_PID=$CHARON_STARTED
  on_exit_pid "$CHARON_PID"
  SW --load-all >"$dir/load.out" 2>&1 || return 1
  ip netns exec "$ons" dotnet "$OAKLEY_DLL" daemon --config "$dir/oakley.conf" --control "$dir/ok.ctl" --keep-alive 2 >"$dir/oakley.log" 2>&1 &
  OAKLEY_PID=$!
  on_exit_pid "$OAKLEY_PID"
  for _ in $(seq 100); do [[ -S $dir/ok.ctl ]] && return 0; sleep 0.1; done
  return 1
}
SW() { swanctl_in "$SW_NS" "$CASE/sw" "$@"; }
OK() { ip netns exec "$OK_NS" dotnet "$OAKLEY_DLL" "$@" --control "$CASE/ok.ctl"; }
ping_through() { # tries: ping A's inner address -> B's inner address until one answers
  for _ in $(seq "$1"); do ip netns exec "$NA" ping -c 1 -W 1 -I 203.0.113.1 203.0.113.129 >/dev/null 2>&1 && return 0; done
  return 1
}
ok_json() { OK list-sas --json 2>/dev/null | tr -d ' \n'; }
keepalives() { OK stats --json 2>/dev/null | tr -d ' \n' | grep -o '"keepalives-sent":[0-9]*' | cut -d: -f2; }
nft_keepalives() { ip netns exec "$1" nft list table ip keepalive_count 2>/dev/null | grep -o 'packets [0-9]*' | awk '{print $2}'; }
sw_remote() { SW --list-sas 2>/dev/null | awk '$1 == "remote" && /@/ {print $NF; exit}'; }

# run_case LABEL OAKLEY_NS INITIATOR(oakley|sw) OAKLEY_CONF_ARGS SW_CONF_ARGS EXPECT_OAKLEY_NATED(0|1) NAT_ROUTER_OF_OAKLEY FLUSH(0|1)
run_case() {
  local label=$1 ons=$2 initiator=$3 oakley_args=$4 sw_args=$5 nated=$6 router=$7 flush=$8
  local dir=$RUN/$label
  mkdir -p "$dir/sw/swanctl"
  # shellcheck disable=SC2086
  conf $oakley_args >"$dir/oakley.conf"
  # shellcheck disable=SC2086
  conf $sw_args >"$dir/sw/swanctl/swanctl.conf"
  start_case "$dir" "$ons" || { result "$label: daemons started" 1; stop_daemons; return; }
  if [[ $initiator == oakley ]]; then OK initiate --child net --timeout 20 >"$dir/initiate.out" 2>&1; else SW --initiate --child net --timeout 20 >"$dir/initiate.out" 2>&1; fi
  result "$label: CHILD SA up ($initiator initiated)" $?
  ping_through 10
  result "$label: ping passes through the tunnel" $?
  local json
  json=$(ok_json)
  if ((nated)); then
    [[ $json == *'"nat-local":true'* ]] && grep -q "local host is behind NAT" "$dir/oakley.log"
    result "$label: Oakley detected that it is behind a NAT" $?
  else
    [[ $json == *'"nat-local":false'* && $json == *'"nat-remote":true'* ]] && grep -q "local host is behind NAT" "$dir/sw/charon.log"
    result "$label: NAT detected on the peer's side (Oakley not behind one; strongSwan logs its NAT)" $?
  fi
  [[ $json == *'"encap":true'* ]]
  result "$label: ESP is UDP-encapsulated" $?
  # Idle for 7 s: with --keep-alive 2, a NATed Oakley sends keepalives (ESP in the last seconds counts as traffic).
  local k0 n0 k1 n1
  k0=$(keepalives); n0=$(nft_keepalives "$router")
  sleep 7
  k1=$(keepalives); n1=$(nft_keepalives "$router")
  echo "  $label: Oakley keepalives-sent ${k0:-?} -> ${k1:-?}; nft counter on the router ${n0:-?} -> ${n1:-?}"
  if ((nated)); then
    [[ -n $k1 && -n $n1 && $((k1 - k0)) -ge 2 && $((n1 - n0)) -ge 2 ]]
    result "$label: Oakley sent NAT keepalives (counted by Oakley and seen by the NAT router)" $?
  else
    [[ -n $k1 && $k1 -eq 0 ]]
    result "$label: Oakley, not behind a NAT, sent no keepalives" $?
  fi
  if ((flush)); then
    local ike_before remote_before remote_after ike_after
    ike_before=$(ok_json | grep -o '"initiator-spi":"[0-9a-f]*"'); remote_before=$(sw_remote)
    [[ $ons == "$NB" ]] && remote_before=$(ok_json | grep -o '"remote-port":[0-9]*')
    ip netns exec "$NR1" conntrack -F >/dev/null 2>&1
    ping_through 40
    result "$label: after R1's conntrack flush, traffic passes again (port tracking)" $?
    ike_after=$(ok_json | grep -o '"initiator-spi":"[0-9a-f]*"')
    if [[ $ons == "$NB" ]]; then remote_after=$(ok_json | grep -o '"remote-port":[0-9]*'); else remote_after=$(sw_remote); fi
    echo "  $label: NATed peer as seen by the other side: $remote_before -> $remote_after"
    [[ -n $ike_before && $ike_before == "$ike_after" && -n $remote_after && $remote_before != "$remote_after" ]]
    result "$label: the same IKE SA moved to the NAT's new external port" $?
    if [[ $ons == "$NB" ]]; then
      grep -q "remote address changed" "$dir/oakley.log"
      result "$label: Oakley logged the peer's address change and moved its CHILD SA" $?
    elif [[ $oakley_args == *yes ]]; then
      grep -q "N(UPD_SA_ADDR)" "$dir/sw/charon.log" && grep -q "MOBIKE: the NAT mapping may have changed" "$dir/oakley.log"
      result "$label: with MOBIKE, Oakley's liveness check found the new mapping and sent UPDATE_SA_ADDRESSES" $?
    fi
  fi
  OK terminate --ike tunnel >/dev/null 2>&1
  stop_daemons
}

#        label  oakley-ns initiator  oakley conf                                                                   strongSwan conf                                                               nated router flush
run_case case1 "$NA"     oakley "192.0.2.1 192.0.2.65 a.example b.example 203.0.113.1/32 203.0.113.129/32 no"   "192.0.2.65 %any b.example a.example 203.0.113.129/32 203.0.113.1/32 no"      1 "$NR1" 1
run_case case2 "$NB"     sw     "192.0.2.65 %any b.example a.example 203.0.113.129/32 203.0.113.1/32 no"        "192.0.2.1 192.0.2.65 a.example b.example 203.0.113.1/32 203.0.113.129/32 no" 0 "$NR2" 1
run_case case3a "$NA"    oakley "192.0.2.1 198.51.100.2 a.example b.example 203.0.113.1/32 203.0.113.129/32 yes" "192.0.2.65 %any b.example a.example 203.0.113.129/32 203.0.113.1/32 yes"    1 "$NR1" 1
run_case case3b "$NB"    sw     "192.0.2.65 %any b.example a.example 203.0.113.129/32 203.0.113.1/32 yes"       "192.0.2.1 198.51.100.2 a.example b.example 203.0.113.1/32 203.0.113.129/32 yes" 1 "$NR2" 0

if ((failures > 0)); then
  for d in "$RUN"/case*; do
    echo "--- $d/oakley.log"; tail -25 "$d/oakley.log"
    echo "--- $d/charon.log"; grep -E "NAT|address|changed|keep|CHILD_SA|established" "$d/sw/charon.log" | tail -15
  done
fi
exit $((failures > 0))
