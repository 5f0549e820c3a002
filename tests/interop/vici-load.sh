#!/usr/bin/env bash
# Interop: real swanctl (strongSwan 5.9.8) configures a running Oakley daemon over VICI, as `oakley daemon --config`
# configures it from the same file (issue 17). Oakley in namespace A starts with an empty swanctl.conf; swanctl
# --load-all --file F (SWANCTL_DIR: F's directory with x509/, x509ca/, private/) loads a PSK connection, a certificate
# connection and one more; `oakley list-conns --json` must equal that of a daemon started with --config F; both
# tunnels come up with strongSwan in B and carry a ping; a changed file loaded again unloads the connection and the
# secret it no longer has; swanctl --load-conns with a bad value is refused with the key path, and the old
# configuration stays.
# Usage: tests/interop/vici-load.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, strongSwan (charon,
# swanctl, pki). Prints one "PASS name" / "FAIL name" line per check and exits non-zero if any failed. KEEP=1 keeps $RUN.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=oakA$ID
NB=oakB$ID
RUN=$(mktemp -d /tmp/oakley-vici-load.XXXXXX)
OAKLEY_PID=
on_exit_dir "$RUN" "${KEEP:-}"
on_exit_netns "$NA" "$NB"
need_tools ip /usr/lib/ipsec/charon swanctl pki ping
[[ ${OAKLEY[0]} == dotnet ]] && need_tools dotnet

make_pair "$NA" "$NB" "vA$ID" "vB$ID" || setup_fail "cannot create namespaces"

# ---- a throwaway PKI (never committed): one root, a.example (Oakley) and b.example (strongSwan) ----
P=$RUN/pki
mkdir -p "$P"
pk() { pki "$@" 2>>"$P/pki.err"; }
pk --gen --type ecdsa --size 256 --outform pem >"$P/root.key" \
  && pk --self --ca --in "$P/root.key" --dn "C=CH, O=Oakley Test, CN=VICI Root CA" --lifetime 30 --outform pem >"$P/root.pem" \
  || setup_fail "pki (root)"
for s in a b; do
  pk --gen --type ecdsa --size 256 --outform pem >"$P/$s.key" \
    && pk --pub --in "$P/$s.key" | pk --issue --cacert "$P/root.pem" --cakey "$P/root.key" --dn "C=CH, O=Oakley Test, CN=$s.example" \
      --san "$s.example" --lifetime 30 --outform pem >"$P/$s.pem" || setup_fail "pki ($s)"
done

# swanctl_dir DIR SIDE: x509/SIDE.pem, x509ca/root.pem, private/SIDE.key (mode 600)
swanctl_dir() {
  mkdir -p "$1/x509" "$1/x509ca" "$1/private"
  cp "$P/$2.pem" "$1/x509/"; cp "$P/root.pem" "$1/x509ca/"; cp "$P/$2.key" "$1/private/"
  chmod 600 "$1/private/$2.key"
}

# conf LOCAL REMOTE LOCAL_ADDR REMOTE_ADDR LOCAL_TS REMOTE_TS [extra]: the swanctl.conf of one side; with "extra", a third
# connection and a second secret that the changed file leaves out.
conf() {
  cat <<CONF
connections {
  psk {
    local_addrs = $3
    remote_addrs = $4
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = $1-psk.example
    }
    remote {
      auth = psk
      id = $2-psk.example
    }
    children {
      pnet {
        local_ts = $5
        remote_ts = $6
        esp_proposals = aes256gcm16
      }
    }
  }
  cert {
    local_addrs = $3
    remote_addrs = $4
    proposals = aes256gcm16-prfsha256-ecp256, aes128-sha256-x25519
    local {
      auth = pubkey
      certs = $1.pem
      id = $1.example
    }
    remote {
      auth = pubkey
      id = $2.example
      cacerts = root.pem
    }
    children {
      cnet {
        local_ts = $5
        remote_ts = $6
        esp_proposals = aes128gcm16, aes256gcm16-x25519
      }
    }
  }
CONF
  [[ ${7:-} == extra ]] && cat <<CONF
  extra {
    local_addrs = $3
    remote_addrs = 192.0.2.9
    local {
      auth = psk
      id = $1-psk.example
    }
    remote {
      auth = psk
      id = x.example
    }
    children {
      x {
        remote_ts = 10.9.0.0/16
      }
    }
  }
CONF
  cat <<CONF
}
secrets {
  ike-psk {
    id-a = a-psk.example
    id-b = b-psk.example
    secret = "vici-load-psk-not-secret"
  }
CONF
  [[ ${7:-} == extra ]] && cat <<CONF
  ike-extra {
    id = x.example
    secret = "extra-psk-not-secret"
  }
CONF
  echo "}"
}

# ---- strongSwan in B ----
swanctl_dir "$RUN/sw/swanctl" b
conf b a 192.0.2.2 192.0.2.1 203.0.113.1/32 198.51.100.1/32 >"$RUN/sw/swanctl/swanctl.conf"
launch_charon "$NB" "$RUN/sw" || setup_fail "charon did not start" "$RUN/sw/charon.out"
on_exit_pid "$CHARON_STARTED"
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/sw-load.out" 2>&1 || setup_fail "swanctl --load-all in B" "$RUN/sw-load.out"

# ---- Oakley's swanctl directory (F) ----
OKDIR=$RUN/ok/swanctl
swanctl_dir "$OKDIR" a
conf a b 192.0.2.1 192.0.2.2 198.51.100.1/32 203.0.113.1/32 extra >"$OKDIR/swanctl.conf"
F=$OKDIR/swanctl.conf
CTL=$RUN/oakley.ctl
start_oakley() { # CONFIG: starts the daemon in A and waits for its control socket
  rm -f "$CTL"
  ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$1" --control "$CTL" >>"$RUN/oakley.log" 2>&1 &
  OAKLEY_PID=$!
  on_exit_pid "$OAKLEY_PID"
  for _ in $(seq 150); do [[ -S $CTL ]] && return 0; sleep 0.1; done
  return 1
}
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$CTL"; }
# Oakley's control socket speaks VICI too (first-byte sniffing): swanctl talks to it as to charon.
SWOK() { ip netns exec "$NA" env SWANCTL_DIR="$OKDIR" swanctl "$@" --uri "unix://$CTL"; }

# ---- 1. the file path: list-conns of a daemon started with --config F ----
start_oakley "$F" || setup_fail "oakley (--config F) did not start" "$RUN/oakley.log"
OK list-conns --json >"$RUN/conns-file.json" 2>&1
stop_pid "$OAKLEY_PID"; OAKLEY_PID=

# ---- 2. an empty daemon, configured by swanctl --load-all over VICI ----
: >"$RUN/empty.conf"
start_oakley "$RUN/empty.conf" || setup_fail "oakley (empty --config) did not start" "$RUN/oakley.log"
SWOK --load-all --noprompt --file "$F" >"$RUN/load1.out" 2>&1
status=$?
out=$(cat "$RUN/load1.out")
[[ $status -eq 0 && $out == *"successfully loaded 3 connections, 0 unloaded"* && $out == *"loaded ike secret 'ike-extra'"* ]]
result "swanctl --load-all --file F into an empty Oakley: 3 connections, secrets, certificate and key loaded" $?
OK list-conns --json >"$RUN/conns-vici.json" 2>&1
cmp -s "$RUN/conns-file.json" "$RUN/conns-vici.json" && grep -q '"name": *"cert"' "$RUN/conns-vici.json"
result "oakley list-conns --json after swanctl --load-all equals that of oakley daemon --config F" $?
[[ -n ${VERBOSE:-} ]] && { cat "$RUN/load1.out"; diff "$RUN/conns-file.json" "$RUN/conns-vici.json"; }

# ---- 3. tunnels on the VICI-loaded connections ----
tunnel() { # CHILD: Oakley initiates, a ping crosses, the SA is deleted again
  OK initiate --child "$1" --timeout 20 >"$RUN/init-$1.out" 2>&1 \
    && ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping-$1.out" 2>&1
  local ok=$?
  OK terminate >/dev/null 2>&1
  for _ in $(seq 50); do OK list-sas 2>/dev/null | grep -q ESTABLISHED || break; sleep 0.1; done
  return $ok
}
tunnel pnet
result "PSK tunnel on the VICI-loaded connection 'psk': up with strongSwan, ping 198.51.100.1 -> 203.0.113.1" $?
tunnel cnet
result "certificate tunnel on the VICI-loaded connection 'cert' (certs, cacerts and key sent as data): up, ping" $?

# ---- 4. a changed file: the connection and the secret it no longer has go ----
conf a b 192.0.2.1 192.0.2.2 198.51.100.1/32 203.0.113.1/32 >"$F"
SWOK --load-all --noprompt --file "$F" >"$RUN/load2.out" 2>&1
status=$?
OK list-conns --json >"$RUN/conns-2.json" 2>&1
[[ $status -eq 0 ]] && grep -q "successfully loaded 2 connections, 1 unloaded" "$RUN/load2.out" && ! grep -q '"name": *"extra"' "$RUN/conns-2.json" \
  && grep -q '"name": *"psk"' "$RUN/conns-2.json"
result "swanctl --load-all of the changed file unloads the removed connection 'extra'" $?
# get-shared, as swanctl --load-creds --raw prints it: ike-psk stays, ike-extra went.
SWOK --load-creds --noprompt --raw --file "$F" >"$RUN/creds.out" 2>&1
shared=$(sed -n '/get-shared reply/,/}/p' "$RUN/creds.out")
[[ $shared == *ike-psk* && $shared != *ike-extra* ]]
result "... and the removed secret 'ike-extra' (get-shared lists only ike-psk)" $?
tunnel pnet
result "the PSK tunnel still comes up after the reload" $?

# ---- 5. a bad value: refused with the key path, the old configuration stays ----
sed 's/esp_proposals = aes256gcm16$/esp_proposals = aes257gcm16/' "$F" >"$RUN/bad.conf"
cp "$RUN/bad.conf" "$F"
SWOK --load-conns --file "$F" >"$RUN/load3.out" 2>&1
status=$?
OK list-conns --json >"$RUN/conns-3.json" 2>&1
[[ $status -ne 0 ]] && grep -q "loading connection 'psk' failed: connections.psk.children.pnet.esp_proposals: esp_proposals:" "$RUN/load3.out" \
  && cmp -s "$RUN/conns-2.json" "$RUN/conns-3.json"
result "swanctl --load-conns with esp_proposals = aes257gcm16: refused naming connections.psk.children.pnet.esp_proposals, old config kept" $?
[[ -n ${VERBOSE:-} ]] && cat "$RUN/load2.out" "$RUN/load3.out"

exit $((failures > 0))
