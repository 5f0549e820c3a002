#!/usr/bin/env bash
# Interop: Oakley <-> strongSwan 5.9 (charon + kernel-libipsec) in two network namespaces, PSK, both roles.
# Usage: tests/interop/ikev2-psk.sh [path to oakley.dll]. Needs root, iproute2 and strongSwan (test.sh installs them).
# Prints one "PASS name" / "FAIL name" line per scenario and exits non-zero if any failed.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
ID=$$
NA=oakA$ID
NB=oakB$ID
RUN=$(mktemp -d /tmp/oakley-interop.XXXXXX)
CHARON_PID= OAKLEY_PID=
failures=0

cleanup() {
  [[ -n $OAKLEY_PID ]] && kill -TERM "$OAKLEY_PID" 2>/dev/null && sleep 0.5
  [[ -n $CHARON_PID ]] && kill -TERM "$CHARON_PID" 2>/dev/null && sleep 0.5
  [[ -n $OAKLEY_PID ]] && kill -KILL "$OAKLEY_PID" 2>/dev/null
  [[ -n $CHARON_PID ]] && kill -KILL "$CHARON_PID" 2>/dev/null
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  rm -rf "$RUN"
}
trap cleanup EXIT

result() { # name, status
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

for tool in ip /usr/lib/ipsec/charon swanctl dotnet; do
  command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }
done

# ---- topology (documentation addresses only, shared/interop.md) ----
ip netns add "$NA" && ip netns add "$NB" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
ip link add "vA$ID" type veth peer name "vB$ID"
ip link set "vA$ID" netns "$NA"; ip link set "vB$ID" netns "$NB"
ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
ip -n "$NA" addr add 192.0.2.1/24 dev "vA$ID"; ip -n "$NB" addr add 192.0.2.2/24 dev "vB$ID"
ip -n "$NA" addr add 198.51.100.1/32 dev lo; ip -n "$NB" addr add 203.0.113.1/32 dev lo
ip -n "$NA" link set "vA$ID" up; ip -n "$NB" link set "vB$ID" up

# ---- strongSwan in B ----
mkdir -p "$RUN/sw/swanctl/conf.d" "$RUN/swrun"
cat >"$RUN/sw/strongswan.conf" <<CONF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pubkey x509 curve25519 kernel-libipsec kernel-netlink socket-default vici updown counters
  install_routes = yes
  filelog {
    log {
      path = $RUN/charon.log
      time_format = %b %e %T
      ike_name = yes
      append = no
      flush_line = yes
      default = 1
    }
  }
  plugins {
    vici {
      socket = unix://$RUN/swrun/charon.vici
    }
    kernel-libipsec {
      allow_peer_ts = no
    }
  }
}
CONF
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
ip netns exec "$NB" env STRONGSWAN_CONF="$RUN/sw/strongswan.conf" sh -c "mount --bind '$RUN/swrun' /run && exec /usr/lib/ipsec/charon" >"$RUN/charon.out" 2>&1 &
CHARON_PID=$!
for _ in $(seq 50); do [[ -S $RUN/swrun/charon.vici ]] && break; sleep 0.1; done
SW() { ip netns exec "$NB" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl "$@" --uri "unix://$RUN/swrun/charon.vici"; }
SW --load-all >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out" "$RUN/charon.out"; exit 1; }

# ---- Oakley in A: the mirror image of the same file ----
sed -e 's/192.0.2.2/X/; s/192.0.2.1/192.0.2.2/; s/X/192.0.2.1/' \
    -e 's/id = b.example/id = Y/; s/id = a.example/id = b.example/; s/id = Y/id = a.example/' \
    -e 's#local_ts = 203.0.113.0/24#local_ts = Z#; s#remote_ts = 198.51.100.0/24#remote_ts = 203.0.113.0/24#; s#local_ts = Z#local_ts = 198.51.100.0/24#' \
    -e 's#local_ts = 203.0.113.0/24\[udp\]#local_ts = Z#; s#remote_ts = 198.51.100.0/24\[udp\]#remote_ts = 203.0.113.0/24[udp]#; s#local_ts = Z#local_ts = 198.51.100.0/24[udp]#' \
    "$RUN/sw/swanctl/swanctl.conf" >"$RUN/oakley.conf"
ip netns exec "$NA" dotnet "$OAKLEY_DLL" daemon --config "$RUN/oakley.conf" --control "$RUN/oakley.ctl" >"$RUN/oakley.log" 2>&1 &
OAKLEY_PID=$!
for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
OK() { ip netns exec "$NA" dotnet "$OAKLEY_DLL" "$@" --control "$RUN/oakley.ctl"; }

# ---- scenario 1: Oakley initiates, strongSwan responds ----
OK initiate --child net --timeout 20 >"$RUN/s1.out" 2>&1
rc=$?
SW --list-sas >"$RUN/s1.sw" 2>&1
[[ -n ${VERBOSE:-} ]] && cat "$RUN/s1.sw"
grep -q "ESTABLISHED" "$RUN/s1.sw" && grep -q "INSTALLED" "$RUN/s1.sw" && [[ $rc -eq 0 ]]
result "oakley-initiator/strongswan-responder aes256gcm16-prfsha256-x25519" $?
# CREATE_CHILD_SA with PFS (curve25519) on the same IKE SA, Oakley initiating
OK initiate --child net2 --timeout 20 >"$RUN/s1b.out" 2>&1
rc=$?
SW --list-sas >"$RUN/s1b.sw" 2>&1
[[ -n ${VERBOSE:-} ]] && cat "$RUN/s1b.sw"
[[ $(grep -c INSTALLED "$RUN/s1b.sw") -eq 2 ]] && [[ $(grep -c ESTABLISHED "$RUN/s1b.sw") -eq 1 ]] && [[ $rc -eq 0 ]]
result "oakley-create-child-sa-pfs-curve25519" $?
OK terminate --ike tunnel >/dev/null 2>&1
sleep 1
SW --list-sas 2>&1 | grep -q ESTABLISHED
[[ $? -ne 0 ]]
result "oakley-delete-seen-by-strongswan" $?

# ---- scenario 2: strongSwan initiates, Oakley responds ----
SW --initiate --child net --timeout 20 >"$RUN/s2.sw" 2>&1
rc=$?
OK list-sas >"$RUN/s2.txt" 2>&1; [[ -n ${VERBOSE:-} ]] && cat "$RUN/s2.txt"
OK list-sas --json >"$RUN/s2.out" 2>&1
grep -q '"ESTABLISHED"' "$RUN/s2.out" && grep -q '"net"' "$RUN/s2.out" && [[ $rc -eq 0 ]]
result "strongswan-initiator/oakley-responder aes256gcm16-prfsha256-x25519" $?
# CREATE_CHILD_SA with PFS, strongSwan initiating
SW --initiate --child net2 --timeout 20 >"$RUN/s2b.sw" 2>&1
rc=$?
OK list-sas --json >"$RUN/s2b.out" 2>&1
[[ $(grep -c '"spi-in"' "$RUN/s2b.out") -eq 2 ]] && [[ $rc -eq 0 ]]
result "strongswan-create-child-sa-pfs-curve25519" $?
SW --terminate --ike tunnel >/dev/null 2>&1
sleep 1
OK list-sas --json 2>&1 | grep -q '"ESTABLISHED"'
[[ $? -ne 0 ]]
result "strongswan-delete-seen-by-oakley" $?

# ---- more proposal families, both roles (configs rewritten and reloaded on both sides) ----
for family in "aes128-sha256-modp2048|aes128-sha256|aes128-sha256-prfsha256-modp2048" \
              "chacha20poly1305-prfsha256-ecp256|chacha20poly1305|chacha20poly1305-prfsha256-ecp256" \
              "aes256-sha384-ecp384|aes256-sha512|aes256-sha384-prfsha384-ecp384"; do
  IFS='|' read -r ike esp expected <<<"$family"
  for f in "$RUN/sw/swanctl/swanctl.conf" "$RUN/oakley.conf"; do
    sed -i -e "s/^    proposals = .*/    proposals = $ike/" -e "0,/esp_proposals = .*/s//esp_proposals = $esp/" "$f"
  done
  SW --load-all >/dev/null 2>&1
  OK load-all >/dev/null 2>&1
  OK initiate --child net --timeout 20 >/dev/null 2>&1
  rc=$?
  SW --list-sas >"$RUN/f.sw" 2>&1
  grep -q ESTABLISHED "$RUN/f.sw" && grep -q INSTALLED "$RUN/f.sw" && [[ $rc -eq 0 ]]
  result "oakley-initiator/strongswan-responder $ike esp=$esp" $?
  OK terminate --ike tunnel >/dev/null 2>&1; sleep 1
  SW --initiate --child net --timeout 20 >/dev/null 2>&1
  rc=$?
  OK list-sas --json >"$RUN/f.out" 2>&1
  # the proposal Oakley reports proves the reloaded configuration was the one negotiated
  grep -q '"ESTABLISHED"' "$RUN/f.out" && grep -q '"spi-in"' "$RUN/f.out" && grep -q "\"proposal\": \"$expected\"" "$RUN/f.out" && [[ $rc -eq 0 ]]
  result "strongswan-initiator/oakley-responder $ike esp=$esp" $?
  SW --terminate --ike tunnel >/dev/null 2>&1; sleep 1
done

# ---- secrets never reach the daemon's log ----
! grep -q "interop-test-psk-not-secret" "$RUN/oakley.log"
result "psk-absent-from-oakley-log" $?

if ((failures > 0)); then
  echo "--- oakley.log"; tail -40 "$RUN/oakley.log"
  echo "--- charon.log"; tail -60 "$RUN/charon.log"
fi
exit $((failures > 0))
