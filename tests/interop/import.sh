#!/usr/bin/env bash
# Interop: `oakley import` (issue 17). Every fixture of tests/Oakley.Config.Tests/Import/Fixtures is converted, and
# the swanctl.conf it gives is loaded unchanged by real strongSwan (swanctl --load-all: exit 0, no errors, the
# expected number of connections) and by Oakley (oakley load-all into a running daemon: the same count). Then an
# end-to-end pair: the ipsec.conf of each end of a net-to-net PSK tunnel, one converted and run by Oakley, the other
# converted and run by strongSwan; the tunnel comes up and carries a ping.
# Usage: tests/interop/import.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, strongSwan (charon,
# swanctl, pki) and openssl. Prints one "PASS name" / "FAIL name" line per check and exits non-zero if any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
FIXTURES=$ROOT/tests/Oakley.Config.Tests/Import/Fixtures
ID=$$
NA=impA$ID
NB=impB$ID
RUN=$(mktemp -d /tmp/oakley-import.XXXXXX)
OAKLEY_PID=
on_exit_dir "$RUN" "${KEEP:-}"
on_exit_netns "$NA" "$NB"
need_tools ip /usr/lib/ipsec/charon swanctl pki openssl ping
[[ ${OAKLEY[0]} == dotnet ]] && need_tools dotnet
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || setup_fail "cannot create namespaces"

# ---- the credentials the fixtures name, as an operator copies them (a throwaway PKI made with strongSwan's pki) ----
P=$RUN/pki
mkdir -p "$P"
pk() { pki "$@" 2>>"$P/pki.err"; }
pk --gen --type ecdsa --size 256 --outform pem >"$P/ca.key"
pk --self --ca --in "$P/ca.key" --dn "C=CH, O=Oakley Test, CN=Oakley Test Root" --lifetime 30 --outform pem >"$P/labCaCert.pem"
issue() { # NAME CN SAN
  pk --gen --type ecdsa --size 256 --outform pem >"$P/$1Key.pem"
  pk --issue --type priv --in "$P/$1Key.pem" --cacert "$P/labCaCert.pem" --cakey "$P/ca.key" --dn "C=CH, O=Oakley Test, CN=$2" \
    --san "$3" --flag serverAuth --flag clientAuth --lifetime 30 --outform pem >"$P/$1Cert.pem"
}
issue moon moon.example moon.example
issue carol carol@example.org carol@example.org
# rw-client-vip's ipsec.secrets gives carol's key a passphrase: the copied key is the encrypted one.
openssl pkcs8 -topk8 -v2 aes256 -in "$P/carolKey.pem" -out "$P/carolKey.enc" -passout pass:carol-key-passphrase 2>>"$P/pki.err"
[[ -s $P/moonCert.pem && -s $P/carolCert.pem && -s $P/carolKey.enc ]] || setup_fail "pki" "$P/pki.err"

# install_creds DIR CONF: x509/, x509ca/ and private/ as the notes of `oakley import` tell the operator to fill them;
# carol's key is the encrypted one when CONF gives its passphrase (secrets.private-* with file = carolKey.pem).
install_creds() {
  local d
  for d in x509 x509ca x509crl x509ocsp x509aa x509ac private rsa ecdsa bliss pkcs8 pkcs12 pubkey; do mkdir -p "$1/$d"; done
  cp "$P/moonCert.pem" "$P/carolCert.pem" "$1/x509/"
  cp "$P/labCaCert.pem" "$1/x509ca/"
  install -m 600 "$P/moonKey.pem" "$1/private/moonKey.pem"
  if grep -q "file = carolKey.pem" "$2"; then
    install -m 600 "$P/carolKey.enc" "$1/private/carolKey.pem"
  else
    install -m 600 "$P/carolKey.pem" "$1/private/carolKey.pem"
  fi
}

# ---- strongSwan in B, Oakley in A: each loads every fixture's conversion in turn ----
SWD=$RUN/sw
launch_charon "$NB" "$SWD" || setup_fail "charon did not start" "$SWD/charon.out"
on_exit_pid "$CHARON_STARTED"
SW() { swanctl_in "$NB" "$SWD" "$@"; }
OKD=$RUN/ok
mkdir -p "$OKD"
printf 'connections {\n}\n' >"$OKD/swanctl.conf"
install_creds "$SWD/swanctl" "$OKD/swanctl.conf"
install_creds "$OKD" "$OKD/swanctl.conf"
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$OKD/swanctl.conf" --control "$RUN/a.ctl" >"$RUN/oakley.log" 2>&1 &
OAKLEY_PID=$!
on_exit_pid "$OAKLEY_PID"
for _ in $(seq 100); do [[ -S $RUN/a.ctl ]] && break; sleep 0.1; done
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/a.ctl"; }

for dir in "$FIXTURES"/*/; do
  name=$(basename "$dir")
  secrets=(); [[ -f $dir/ipsec.secrets ]] && secrets=(ipsec.secrets)
  rm -f "$SWD/swanctl/pubkey/"* "$OKD/pubkey/"*
  (cd "$dir" && "${OAKLEY[@]}" import ipsec.conf "${secrets[@]}" --pubkeys "$SWD/swanctl/pubkey") >"$RUN/$name.conf" 2>"$RUN/$name.notes"
  rc=$?
  expected=$(sed -nE 's/^oakley import: ([0-9]+) connection\(s\) converted.*/\1/p' "$RUN/$name.notes")
  cmp -s "$RUN/$name.conf" "$dir/swanctl.conf"
  result "import $name: exit 0, the golden swanctl.conf ($expected connection(s))" $((rc != 0 || $? != 0 || ${#expected} == 0))
  [[ -n $expected ]] || continue
  cp "$SWD/swanctl/pubkey/"* "$OKD/pubkey/" 2>/dev/null
  cp "$RUN/$name.conf" "$SWD/swanctl/swanctl.conf"
  cp "$RUN/$name.conf" "$OKD/swanctl.conf"
  install_creds "$SWD/swanctl" "$RUN/$name.conf"
  install_creds "$OKD" "$RUN/$name.conf"
  SW --load-all >"$RUN/$name.sw" 2>&1
  rc=$?
  count=$(SW --list-conns 2>/dev/null | grep -cE '^[A-Za-z0-9_-]+: IKEv')
  errors=$(grep -v '^opening directory' "$RUN/$name.sw" | grep -ciE 'fail|error')
  [[ $rc -eq 0 && $count -eq $expected && $errors -eq 0 ]]
  ok=$?
  [[ $ok -ne 0 ]] && { echo "  swanctl rc=$rc conns=$count errors=$errors"; sed 's/^/  | /' "$RUN/$name.sw" | head -20; }
  result "strongSwan swanctl --load-all $name: exit 0, $expected connection(s), no errors" $ok
  OK load-all >"$RUN/$name.ok" 2>&1
  rc=$?
  count=$(sed -n 's/^connections: //p' "$RUN/$name.ok")
  warnings=$(grep -c 'warning:' "$RUN/$name.ok")
  [[ $rc -eq 0 && $count == "$expected" ]]
  ok=$?
  [[ $ok -ne 0 || -n ${VERBOSE:-} ]] && { echo "  oakley load-all rc=$rc conns=$count warnings=$warnings"; sed 's/^/  | /' "$RUN/$name.ok" | head -20; }
  result "Oakley load-all $name: exit 0, $expected connection(s)" $ok
  # What is written commented out is what strongSwan would load: uncommented, strongSwan takes every connection.
  commented=$(sed -nE 's/^oakley import: .* ([0-9]+) written commented out.*/\1/p' "$RUN/$name.notes")
  if [[ ${commented:-0} -gt 0 ]] || grep -qE '^ +# ' "$RUN/$name.conf"; then
    sed -E 's/^# (  )/\1/; s/^( +)# /\1/' "$RUN/$name.conf" >"$SWD/swanctl/swanctl.conf"
    SW --load-all >"$RUN/$name.sw-all" 2>&1
    rc=$?
    count=$(SW --list-conns 2>/dev/null | grep -cE '^[A-Za-z0-9_-]+: IKEv')
    errors=$(grep -v '^opening directory' "$RUN/$name.sw-all" | grep -ciE 'fail|error')
    [[ $rc -eq 0 && $count -eq $((expected + commented)) && $errors -eq 0 ]]
    ok=$?
    [[ $ok -ne 0 ]] && { echo "  swanctl rc=$rc conns=$count errors=$errors"; grep -v '^opening directory' "$RUN/$name.sw-all" | sed 's/^/  | /' | head -20; }
    result "strongSwan loads $name with its commented-out lines taken back: $((expected + commented)) connection(s), no errors" $ok
  fi
done

# ---- an input that cannot be parsed: exit 1 with file:line ----
printf 'conn broken\n\tleft=192.0.2.1\n\tthis is not a setting\n' >"$RUN/broken.conf"
"${OAKLEY[@]}" import "$RUN/broken.conf" >"$RUN/broken.out" 2>"$RUN/broken.err"
rc=$?
[[ $rc -eq 1 && ! -s $RUN/broken.out ]] && grep -q "broken.conf:3: error: expected KEY=VALUE" "$RUN/broken.err"
result "import of an unparsable file: exit 1, nothing on stdout, file:line on stderr" $?

# ---- end to end: each end's own ipsec.conf, converted; Oakley runs A's, strongSwan runs B's ----
stop_pid "$OAKLEY_PID"; OAKLEY_PID=
mkdir -p "$RUN/e2e"
cat >"$RUN/e2e/a.conf" <<'CONF'
# site A (this host: left)
conn %default
	keyexchange=ikev2
	authby=secret
	ike=aes256gcm16-prfsha256-x25519!
	esp=aes256gcm16!

conn a-to-b
	left=192.0.2.1
	leftid=@a.example
	leftsubnet=198.51.100.1/32
	right=192.0.2.2
	rightid=@b.example
	rightsubnet=203.0.113.1/32
	dpdaction=restart
	dpddelay=30s
	auto=add
CONF
cat >"$RUN/e2e/b.conf" <<'CONF'
# site B (this host: left)
conn b-to-a
	keyexchange=ikev2
	authby=psk
	left=192.0.2.2
	leftid=@b.example
	leftsubnet=203.0.113.1/32
	right=192.0.2.1
	rightid=@a.example
	rightsubnet=198.51.100.1/32
	ike=aes256gcm16-prfsha256-x25519
	esp=aes256gcm16
	auto=add
CONF
printf '@a.example @b.example : PSK "import-interop-psk-not-secret"\n' >"$RUN/e2e/ipsec.secrets"
"${OAKLEY[@]}" import "$RUN/e2e/a.conf" "$RUN/e2e/ipsec.secrets" >"$OKD/swanctl.conf" 2>"$RUN/e2e/a.notes" \
  && "${OAKLEY[@]}" import "$RUN/e2e/b.conf" "$RUN/e2e/ipsec.secrets" >"$SWD/swanctl/swanctl.conf" 2>"$RUN/e2e/b.notes"
result "import both ends' ipsec.conf" $?
SW --load-all >"$RUN/e2e/sw.load" 2>&1
result "strongSwan loads end B's conversion" $?
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$OKD/swanctl.conf" --control "$RUN/a.ctl" >"$RUN/oakley-e2e.log" 2>&1 &
OAKLEY_PID=$!
on_exit_pid "$OAKLEY_PID"
rm -f "$RUN/a.ctl.ready"
for _ in $(seq 100); do OK list-conns >/dev/null 2>&1 && break; sleep 0.1; done
OK initiate --child a-to-b --timeout 20 >"$RUN/e2e/initiate.out" 2>&1
result "Oakley (end A) initiates a-to-b; strongSwan (end B) accepts it as b-to-a" $?
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/e2e/ping.out" 2>&1
result "ping 198.51.100.1 -> 203.0.113.1 through the tunnel of the two converted files" $?
SW --list-sas 2>/dev/null | grep -q "b-to-a: #.*ESTABLISHED"
result "strongSwan lists b-to-a ESTABLISHED" $?
! grep -q "import-interop-psk-not-secret" "$RUN/oakley-e2e.log" "$RUN/e2e/a.notes" "$RUN/e2e/b.notes"
result "the PSK appears in no log or note" $?

if ((failures > 0)); then
  echo "--- oakley.log"; tail -30 "$RUN/oakley.log" "$RUN/oakley-e2e.log" 2>/dev/null
  echo "--- charon.log"; tail -40 "$SWD/charon.log"
fi
exit $((failures > 0))
