#!/usr/bin/env bash
# Interop: Oakley <-> strongSwan 5.9 (charon + kernel-libipsec) in two network namespaces, PSK, both roles.
# Usage: tests/interop/ikev2-psk.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2 and strongSwan (test.sh installs them).
# Prints one "PASS name" / "FAIL name" line per scenario and exits non-zero if any failed.
set -uo pipefail
# A framework-dependent oakley.dll (run by dotnet) or the native executable (NativeAOT publish; test.sh runs both).
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=oakA$ID
NB=oakB$ID
RUN=$(mktemp -d /tmp/oakley-interop.XXXXXX)
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NB"
need_tools ip /usr/lib/ipsec/charon swanctl dotnet tshark iperf3 ping

# ---- topology (documentation addresses only, shared/interop.md) ----
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || setup_fail "cannot create namespaces"

# ---- strongSwan in B ----
mkdir -p "$RUN/sw/swanctl/conf.d"
cat >"$RUN/sw/swanctl/swanctl.conf" <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = b.example
    }
    remote {
      auth = psk
      id = a.example
    }
    children {
      net {
        local_ts = 203.0.113.0/24
        remote_ts = 198.51.100.0/24
        esp_proposals = aes256gcm16
      }
      net2 {
        local_ts = 203.0.113.0/24[udp]
        remote_ts = 198.51.100.0/24[udp]
        esp_proposals = aes128gcm16-curve25519
      }
      net3 {
        local_ts = 203.0.113.0/24[tcp]
        remote_ts = 198.51.100.0/24[tcp]
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike-ab {
    id-a = a.example
    id-b = b.example
    secret = "interop-test-psk-not-secret"
  }
}
CONF
launch_charon "$NB" "$RUN/sw"
on_exit_pid "$CHARON_STARTED"
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/load.out" 2>&1 || setup_fail "swanctl --load-all" "$RUN/load.out" "$RUN/sw/charon.out"

# ---- Oakley in A: the mirror image of the same file ----
sed -e 's/192.0.2.2/X/; s/192.0.2.1/192.0.2.2/; s/X/192.0.2.1/' \
    -e 's/id = b.example/id = Y/; s/id = a.example/id = b.example/; s/id = Y/id = a.example/' \
    -e 's#local_ts = 203.0.113.0/24#local_ts = Z#; s#remote_ts = 198.51.100.0/24#remote_ts = 203.0.113.0/24#; s#local_ts = Z#local_ts = 198.51.100.0/24#' \
    -e 's#local_ts = 203.0.113.0/24\[udp\]#local_ts = Z#; s#remote_ts = 198.51.100.0/24\[udp\]#remote_ts = 203.0.113.0/24[udp]#; s#local_ts = Z#local_ts = 198.51.100.0/24[udp]#' \
    -e 's#local_ts = 203.0.113.0/24\[tcp\]#local_ts = Z#; s#remote_ts = 198.51.100.0/24\[tcp\]#remote_ts = 203.0.113.0/24[tcp]#; s#local_ts = Z#local_ts = 198.51.100.0/24[tcp]#' \
    "$RUN/sw/swanctl/swanctl.conf" >"$RUN/oakley.conf"
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/oakley.conf" --control "$RUN/oakley.ctl" --keylog "$RUN/keylog" >"$RUN/oakley.log" 2>&1 &
on_exit_pid $!
for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/oakley.ctl"; }

# ---- helpers ----
SWCONF=$RUN/sw/swanctl/swanctl.conf
OKCONF=$RUN/oakley.conf
cp "$SWCONF" "$RUN/sw.base"; cp "$OKCONF" "$RUN/ok.base"
reset_conf() { cp "$RUN/sw.base" "$SWCONF"; cp "$RUN/ok.base" "$OKCONF"; }
reload() { SW --load-all >/dev/null 2>&1; OK load-all >/dev/null 2>&1; }
clear_sas() {
  OK terminate >/dev/null 2>&1
  SW --terminate --ike tunnel --timeout 5 >/dev/null 2>&1
  sleep 1
}
no_sas() { ! SW --list-sas 2>/dev/null | grep -q ESTABLISHED && ! OK list-sas 2>/dev/null | grep -q ESTABLISHED; }
# SPIs of a CHILD SA as "in out", seen by each side
sw_spis() { SW --list-sas 2>/dev/null | awk -v c="  $1: " 'index($0, c) == 1 {f=1; next} f && $1 == "in" {i=$2} f && $1 == "out" {print i " " $2; exit}' | tr -d ','; }
ok_spis() { OK list-sas 2>/dev/null | grep "^  $1: " | sed -E 's/.*SPIs: ([0-9a-f]+)_i ([0-9a-f]+)_o.*/\1 \2/'; }
spis_match() { # the CHILD SA is installed on both sides with crosswise-equal SPIs
  local s o; s=$(sw_spis "$1"); o=$(ok_spis "$1")
  [[ -n $s && -n $o ]] && [[ "${o%% *}" == "${s##* }" && "${o##* }" == "${s%% *}" ]]
}
up_from_oakley() { OK initiate --child "$1" --timeout 20 >/dev/null 2>&1; }
up_from_strongswan() { SW --initiate --child "$1" --timeout 20 >/dev/null 2>&1; }

# ---- proposal families, each with Oakley as initiator and as responder ----
for family in "aes256gcm16-prfsha256-x25519|aes256gcm16|aes256gcm16-prfsha256-curve25519|CURVE_25519" \
              "aes128-sha256-modp2048|aes128-sha256|aes128-sha256-prfsha256-modp2048|MODP_2048" \
              "aes256-sha384-ecp384|aes256-sha384|aes256-sha384-prfsha384-ecp384|ECP_384" \
              "chacha20poly1305-prfsha256-x25519|chacha20poly1305|chacha20poly1305-prfsha256-curve25519|CURVE_25519" \
              "aes128gcm16-prfsha256-ecp256|aes128gcm16|aes128gcm16-prfsha256-ecp256|ECP_256" \
              "aes256-sha512-modp4096|aes256-sha512|aes256-sha512-prfsha512-modp4096|MODP_4096"; do
  IFS='|' read -r ike esp expected swgroup <<<"$family"
  reset_conf
  sed -i -e "s/^    proposals = .*/    proposals = $ike/" -e "0,/esp_proposals = .*/s//esp_proposals = $esp/" "$SWCONF" "$OKCONF"
  reload
  for who in oakley strongswan; do
    if [[ $who == oakley ]]; then up_from_oakley net; else up_from_strongswan net; fi
    rc=$?
    [[ $rc -eq 0 ]] && spis_match net && OK list-sas --json 2>/dev/null | grep -q "\"proposal\": \"$expected\"" \
      && SW --list-sas 2>/dev/null | grep -q "$swgroup"
    result "$who-initiates $ike esp=$esp: ESTABLISHED, INSTALLED, SPIs and algorithms match" $?
    clear_sas
  done
done

# ---- tshark decrypts a captured exchange with Oakley's keylog ----
reset_conf
reload
ip netns exec "$NA" tshark -i "vA$ID" -f "udp port 500 or udp port 4500" -w "$RUN/ike.pcap" >"$RUN/tshark-capture.log" 2>&1 &
CAPTURE_PID=$!
on_exit_pid "$CAPTURE_PID"
sleep 2
up_from_oakley net
sleep 1
kill -TERM "$CAPTURE_PID" 2>/dev/null; wait "$CAPTURE_PID" 2>/dev/null; forget_pid "$CAPTURE_PID"
clear_sas
mkdir -p "$RUN/wsconf/wireshark"
cp "$RUN/keylog/ikev2_decryption_table" "$RUN/wsconf/wireshark/"
XDG_CONFIG_HOME=$RUN/wsconf tshark -r "$RUN/ike.pcap" -V >"$RUN/decoded.txt" 2>&1
malformed=$(XDG_CONFIG_HOME=$RUN/wsconf tshark -r "$RUN/ike.pcap" -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
awk '/Exchange type: IKE_AUTH \(35\)/{f=1} f' "$RUN/decoded.txt" >"$RUN/auth.txt"
[[ $malformed -eq 0 ]] && [[ -s $RUN/ike.pcap ]] \
  && grep -q "Payload: Identification - Initiator" "$RUN/auth.txt" && grep -q "Payload: Authentication" "$RUN/auth.txt" \
  && grep -q "Payload: Security Association" "$RUN/auth.txt" && grep -q "Payload: Traffic Selector - Initiator" "$RUN/auth.txt" \
  && grep -q "Payload: Traffic Selector - Responder" "$RUN/auth.txt"
rc=$?
[[ $rc -ne 0 ]] && { echo "tshark: malformed=$malformed"; grep -m5 "Payload:" "$RUN/auth.txt"; }
result "tshark decrypts IKE_AUTH with the keylog (IDi, AUTH, SA, TSi, TSr; no malformed packets)" $rc

# ---- traffic through the CHILD SA: Oakley's TUN data plane <-> strongSwan's kernel-libipsec (ESP-in-UDP) ----
reset_conf
reload
rm -f "$RUN/keylog/esp_sa"
up_from_oakley net
ip netns exec "$NA" tshark -i "vA$ID" -f "udp port 4500" -w "$RUN/esp.pcap" >"$RUN/tshark-esp.log" 2>&1 &
CAPTURE_PID=$!
on_exit_pid "$CAPTURE_PID"
sleep 2
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping1.out" 2>&1
result "ping 198.51.100.1 -> 203.0.113.1 through the CHILD SA (Oakley initiated)" $?
OK list-sas --json 2>/dev/null | grep -E '"packets-(in|out)": ([3-9]|[1-9][0-9]+),?$' | wc -l | grep -q '^2$'
result "oakley list-sas counts the CHILD SA's packets in and out" $?
OK stats --json 2>/dev/null | grep -q '"bad-icv": 0'
result "oakley stats reports ESP drops by reason (no bad ICVs)" $?
sleep 0.5
kill -TERM "$CAPTURE_PID" 2>/dev/null; wait "$CAPTURE_PID" 2>/dev/null; forget_pid "$CAPTURE_PID"
cp "$RUN/keylog/esp_sa" "$RUN/wsconf/wireshark/esp_sa" 2>/dev/null
XDG_CONFIG_HOME=$RUN/wsconf tshark -r "$RUN/esp.pcap" -o esp.enable_encryption_decode:TRUE -Y "icmp" 2>/dev/null >"$RUN/esp-icmp.txt"
malformed=$(XDG_CONFIG_HOME=$RUN/wsconf tshark -r "$RUN/esp.pcap" -o esp.enable_encryption_decode:TRUE -Y "_ws.malformed || _ws.expert.severity == error" 2>/dev/null | wc -l)
[[ -n ${VERBOSE:-} ]] && { head -3 "$RUN/esp-icmp.txt"; echo "malformed=$malformed"; }
[[ $(grep -c "Echo (ping) request" "$RUN/esp-icmp.txt") -ge 3 ]] && [[ $(grep -c "Echo (ping) reply" "$RUN/esp-icmp.txt") -ge 3 ]] && [[ $malformed -eq 0 ]]
result "tshark decrypts the ESP with Oakley's esp_sa keylog: 3 echo requests and 3 replies, nothing malformed" $?
[[ -n ${VERBOSE:-} ]] && cat "$RUN/ping1.out"
# iperf3 TCP for 5 s each way (bounded by timeout); the figure is printed, the assertion is that data flowed.
ip netns exec "$NB" iperf3 -s -1 -B 203.0.113.1 >"$RUN/iperf-s.out" 2>&1 &
IPERF_PID=$!
sleep 0.5
timeout 20 ip netns exec "$NA" iperf3 -c 203.0.113.1 -B 198.51.100.1 -t 5 -f m >"$RUN/iperf1.out" 2>&1
rc=$?
kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null
grep -E "sender|receiver" "$RUN/iperf1.out" | sed 's/^/  iperf3 A->B: /'
[[ $rc -eq 0 ]] && grep -q receiver "$RUN/iperf1.out"
result "iperf3 TCP 5 s 198.51.100.1 -> 203.0.113.1 through the CHILD SA" $?
ip netns exec "$NB" iperf3 -s -1 -B 203.0.113.1 >"$RUN/iperf-s.out" 2>&1 &
IPERF_PID=$!
sleep 0.5
timeout 20 ip netns exec "$NA" iperf3 -c 203.0.113.1 -B 198.51.100.1 -t 5 -R -f m >"$RUN/iperf2.out" 2>&1
rc=$?
kill "$IPERF_PID" 2>/dev/null; wait "$IPERF_PID" 2>/dev/null
grep -E "sender|receiver" "$RUN/iperf2.out" | sed 's/^/  iperf3 B->A: /'
[[ $rc -eq 0 ]] && grep -q receiver "$RUN/iperf2.out"
result "iperf3 TCP 5 s 203.0.113.1 -> 198.51.100.1 (reverse) through the CHILD SA" $?
clear_sas
up_from_strongswan net
ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1 >"$RUN/ping2.out" 2>&1
result "ping 203.0.113.1 -> 198.51.100.1 through the CHILD SA (strongSwan initiated)" $?
[[ -n ${VERBOSE:-} ]] && cat "$RUN/ping2.out"
clear_sas

# ---- INVALID_KE: the initiator's first KE is not the responder's choice ----
reset_conf
sed -i -e "s/^    proposals = .*/    proposals = aes256gcm16-prfsha256-x25519-ecp256/" "$OKCONF"
sed -i -e "s/^    proposals = .*/    proposals = aes256gcm16-prfsha256-ecp256/" "$SWCONF"
reload
up_from_oakley net && spis_match net && SW --list-sas 2>/dev/null | grep -q ECP_256
result "oakley-initiates INVALID_KE (x25519 -> ecp256) retried" $?
clear_sas
sed -i -e "s/^    proposals = .*/    proposals = aes256gcm16-prfsha256-ecp256/" "$OKCONF"
sed -i -e "s/^    proposals = .*/    proposals = aes256gcm16-prfsha256-x25519-ecp256/" "$SWCONF"
reload
up_from_strongswan net && spis_match net && OK list-sas --json 2>/dev/null | grep -q '"proposal": "aes256gcm16-prfsha256-ecp256"'
result "strongswan-initiates INVALID_KE (x25519 -> ecp256) answered" $?
clear_sas

# ---- wrong PSK: fails on both sides, no SA left ----
reset_conf
sed -i -e 's/secret = "interop-test-psk-not-secret"/secret = "a-different-key"/' "$OKCONF"
reload
! up_from_oakley net && sleep 1 && no_sas
result "oakley-initiates wrong PSK: AUTHENTICATION_FAILED, no SA" $?
clear_sas
! up_from_strongswan net && sleep 1 && no_sas
result "strongswan-initiates wrong PSK: AUTHENTICATION_FAILED, no SA" $?
clear_sas

# ---- TS narrowing: the initiator asks for more than the responder allows ----
reset_conf
sed -i -e 's#^        remote_ts = 198.51.100.0/24$#        remote_ts = 198.51.100.0/25#' "$SWCONF"
reload
up_from_oakley net && spis_match net && OK list-sas 2>/dev/null | grep -q "local  198.51.100.0/25"
result "oakley-initiates, strongSwan narrows to 198.51.100.0/25" $?
clear_sas
reset_conf
sed -i -e 's#^        remote_ts = 203.0.113.0/24$#        remote_ts = 203.0.113.0/25#' "$OKCONF"
reload
up_from_strongswan net && spis_match net && SW --list-sas 2>/dev/null | grep -q "local  203.0.113.0/25"
result "strongswan-initiates, Oakley narrows to 203.0.113.0/25" $?
clear_sas

# ---- a second CHILD SA through CREATE_CHILD_SA, with and without PFS; delete from each side ----
reset_conf
reload
up_from_oakley net && up_from_oakley net2 && up_from_oakley net3 && spis_match net2 && spis_match net3 \
  && SW --list-sas 2>/dev/null | grep -q "AES_GCM_16-128/CURVE_25519" && [[ $(SW --list-sas 2>/dev/null | grep -c INSTALLED) -eq 3 ]]
result "oakley-initiates CREATE_CHILD_SA with PFS (net2) and without (net3)" $?
OK terminate --ike tunnel >/dev/null 2>&1; sleep 1
no_sas
result "oakley deletes; strongSwan removes the IKE SA and its CHILD SAs" $?
up_from_strongswan net && up_from_strongswan net2 && up_from_strongswan net3 && spis_match net2 && spis_match net3
rc=$?
if [[ $rc -ne 0 ]]; then echo "sw: net2=$(sw_spis net2) net3=$(sw_spis net3) oakley: net2=$(ok_spis net2) net3=$(ok_spis net3)"; OK list-sas; fi
result "strongswan-initiates CREATE_CHILD_SA with PFS (net2) and without (net3)" $rc
SW --terminate --ike tunnel --timeout 5 >/dev/null 2>&1; sleep 1
no_sas
result "strongswan deletes; Oakley removes the IKE SA and its CHILD SAs" $?

# ---- secrets never reach the daemon's log ----
! grep -q "interop-test-psk-not-secret" "$RUN/oakley.log"
result "psk-absent-from-oakley-log" $?

if ((failures > 0)); then
  echo "--- oakley.log"; tail -40 "$RUN/oakley.log"
  echo "--- charon.log"; tail -60 "$RUN/sw/charon.log"
fi
exit $((failures > 0))
