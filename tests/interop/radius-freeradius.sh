#!/usr/bin/env bash
# Oakley's eap-radius relay and accounting against FreeRADIUS on loopback: `oakley radius-check` plays an EAP-MD5
# peer through the relay (Access-Request/Challenge rounds with Message-Authenticator and State), then sends the
# session's Accounting Start and Stop; FreeRADIUS (freeradius -X with a minimal configuration of this script's own:
# one client, a users file, the eap module with md5 and mschapv2, accounting to a detail file) must accept the
# right password, reject a wrong one, and write both accounting records. Installs nothing (test.sh installs
# freeradius). Usage: tests/interop/radius-freeradius.sh [path to oakley.dll, or the native oakley].
# Prints "PASS name" / "FAIL name" lines; exits non-zero if any failed.
set -uo pipefail
source "$(dirname "$0")/radius-lib.bash"
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
DIR=$(mktemp -d /tmp/oakley-radius.XXXXXX)
RADIUSD=
failures=0
cleanup() {
  if [[ -n $RADIUSD ]]; then
    kill -TERM "$RADIUSD" 2>/dev/null
    wait "$RADIUSD" 2>/dev/null
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
command -v freeradius >/dev/null || { echo "FAIL setup: freeradius is missing (test.sh installs it)"; exit 1; }
[[ -r /usr/share/freeradius/dictionary ]] || { echo "FAIL setup: the FreeRADIUS dictionary is missing"; exit 1; }

# Ports of our own, so that a RADIUS server elsewhere on the host (or another run) is never in the way.
AUTH=$((20000 + ($$ % 20000) * 2))
ACCT=$((AUTH + 1))
SECRET=oakley-radius-$$
freeradius_conf "$DIR" "$SECRET" "$AUTH" "$ACCT"
cat >"$DIR/users" <<'USERS'
carol   Cleartext-Password := "carol-pass"
        Framed-IP-Address = 10.3.0.5
USERS
cat >"$DIR/strongswan.conf" <<CONF
charon {
  plugins {
    eap-radius {
      nas_identifier = oakley-interop
      retransmit_timeout = 1
      retransmit_tries = 3
      servers {
        freeradius {
          address = 127.0.0.1
          secret = $SECRET
          auth_port = $AUTH
          acct_port = $ACCT
        }
      }
    }
  }
}
CONF

start_freeradius "$DIR"
RADIUSD=$RADIUSD_STARTED
if ! grep -q "Ready to process requests" "$DIR/radiusd.out"; then
  echo "FAIL setup: freeradius did not start"
  tail -40 "$DIR/radiusd.out"
  exit 1
fi

# The right password: EAP-MD5 through Access-Challenge rounds, then Access-Accept with the Framed-IP-Address.
"${OAKLEY[@]}" radius-check --settings "$DIR/strongswan.conf" --user carol --password carol-pass >"$DIR/good.out" 2>&1
rc=$?
cat "$DIR/good.out"
result "eap-md5 accepted by FreeRADIUS" $((rc != 0 || $(grep -c '^eap: success, method eap-radius (md5), identity carol' "$DIR/good.out") == 0))
result "Framed-IP-Address from the users file reaches the outcome" "$(grep -q 'framed \[10.3.0.5\]' "$DIR/good.out"; echo $?)"
result "FreeRADIUS verified our Message-Authenticator and State" "$(grep -q "Login OK: \[carol" "$DIR/radiusd.out"; echo $?)"

# Accounting: both records in the detail file, with our session, counters and NAS attributes.
detail=$DIR/acct/detail
result "accounting Start and Stop answered" "$(grep -q '^accounting: start and stop answered' "$DIR/good.out"; echo $?)"
starts=$(grep -c 'Acct-Status-Type = Start' "$detail" 2>/dev/null)
stops=$(grep -c 'Acct-Status-Type = Stop' "$detail" 2>/dev/null)
result "detail file holds one Start and one Stop" $((starts != 1 || stops != 1))
result "Stop carries the CHILD SA counters" "$(grep -q 'Acct-Input-Octets = 1234' "$detail" && grep -q 'Acct-Output-Octets = 5678' "$detail" && grep -q 'Acct-Output-Packets = 20' "$detail"; echo $?)"
result "accounting names the user, the session and the NAS" "$(grep -q 'User-Name = "carol"' "$detail" && grep -q 'Acct-Session-Id = ".*-7"' "$detail" \
  && grep -q 'NAS-Identifier = "oakley-interop"' "$detail" && grep -q 'NAS-Port-Type = Virtual' "$detail" && grep -q 'Calling-Station-Id = "127.0.0.2\[4500\]"' "$detail" \
  && grep -q 'Framed-IP-Address = 10.3.0.5' "$detail"; echo $?)"

# A wrong password: Access-Reject, and the relay reports the failure.
"${OAKLEY[@]}" radius-check --settings "$DIR/strongswan.conf" --user carol --password wrong >"$DIR/bad.out" 2>&1
rc=$?
cat "$DIR/bad.out"
result "a wrong password is rejected" $((rc == 0 || $(grep -c "RADIUS authentication of 'carol' failed" "$DIR/bad.out") == 0))

if ((failures > 0)); then
  echo "--- freeradius -X (last lines)"
  tail -60 "$DIR/radiusd.out"
  [[ -f $detail ]] && { echo "--- detail"; cat "$detail"; }
fi
exit $((failures > 0))
