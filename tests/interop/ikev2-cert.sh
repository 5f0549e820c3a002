#!/usr/bin/env bash
# Interop: Oakley <-> strongSwan 5.9 (charon + kernel-libipsec) in two network namespaces, X.509 certificate
# authentication (auth = pubkey), both roles, with a ping through every tunnel that comes up.
# Usage: tests/interop/ikev2-cert.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, strongSwan and
# its pki tool (test.sh installs them). PEER_A=strongswan runs a second charon in namespace A instead of Oakley: the
# same PKI and configurations, strongSwan <-> strongSwan, as the reference for what must pass and what must fail.
# Prints one "PASS name" / "FAIL name" line per scenario and exits non-zero if any failed. KEEP=1 keeps $RUN (logs,
# configs, the throwaway PKI) for inspection; VERBOSE=1 prints three of the certificates.
#
# The PKI is made at test time with pki, in $RUN (never committed): per key type (RSA-3072, ECDSA P-256, P-384,
# Ed25519) a root, two intermediates (one per side) and the end-entity certs a.example (A) and b.example (B). Each
# side trusts the root and holds its own intermediate in x509ca/, so the peer must build the path from CERT payloads.
# Also a second P-256 PKI ("second": Root CA second, Intermediate A/B second, a.example, b.example) and bare key pairs
# (P-256, Ed25519) for the raw public key scenarios.
#
# What strongSwan 5.9.8 sends (charon.log at the default level: "generating ... [ ... ]", "sending ... cert"):
# - as responder: IKE_SA_INIT response [ SA KE No N(NATD_*) CERTREQ ... ], one CERTREQ naming every CA in its x509ca/
#   (root and own intermediate); IKE_AUTH response [ IDr CERT CERT AUTH SA TSi TSr ... ]: end entity + intermediate.
# - as initiator: IKE_AUTH request [ IDi CERT CERT N(INIT_CONTACT) CERTREQ IDr AUTH SA TSi TSr ... ], the CERTREQ
#   naming only remote.cacerts (the root), and IDr = remote.id.
# - never the root. CERTs only if the peer sent a CERTREQ (send_cert = ifasked): with send_certreq = no on the other
#   side it sends none at all, in either role. The intermediate only if a CERTREQ names a CA of its chain (the rogue
#   chain below, not requested: end entity only). Messages above the MTU go out as IKE fragments (RSA chain: 3).
# - RSA: it signs PKCS#1 v1.5 (RSA_EMSA_PKCS1_SHA2_256) unless charon.rsa_pss = yes (RSA_EMSA_PSS_SHA2_256_SALT_32),
#   and with rsa_pss = no and remote auth = pubkey it still accepts a peer's PSS signature (Oakley signs PSS by
#   default). auth = ike:rsa/pss-sha256 requires (remote) or forces (local) PSS in AUTH only, not in the chain.
# - the CERTREQ exchange, at the default log level 1: "sending cert request for "<CA DN>"", "received cert request for
#   "<CA DN>"" (a CA it knows; the others are counted: "received 1 cert requests for an unknown ca", as Oakley's CERTREQ
#   names its own intermediate too), "sending end entity cert "<DN>"", "sending issuer cert "<DN>"", "received end
#   entity cert "<DN>"", "received issuer cert "<DN>"". Scenarios 1-4 require all six from B.
# - raw public keys (local/remote pubkeys, ids a.example and b.example): no CERT and no CERTREQ either way; it signs
#   with RFC 7427 signatures ("authentication of 'a.example' with ECDSA_WITH_SHA256_DER" / "with ED25519").
# - several local.certs: it sends the one that chains to a CA a received CERTREQ names, else the first.
# - a local id its certificate does not contain is sent as it is (scenario "claims id c.example"); the receiver logs
#   "no trusted ... public key found for 'c.example'". extendedKeyUsage is not checked: ocspSigning-only certs pass.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
PEER_A=${PEER_A:-oakley}
source "$(dirname "$0")/lib.sh"

# Substrings of the checking side's log that name why it refused the peer (adapt them here if the wording changes).
OK_EXPIRED='expired'
OK_UNTRUSTED='no trusted path'
OK_ID='not confirmed by certificate'
OK_EKU='extendedKeyUsage'
# strongSwan's wording when it checks (PEER_A=strongswan). It does not check extendedKeyUsage at all.
SW_EXPIRED='subject certificate invalid (valid from'
SW_UNTRUSTED='no issuer certificate found for'
SW_ID="public key found for 'c.example'"
# Scenario 5 (RSASSA-PSS): what A's swanctl.conf says to sign with and to require from B.
A_PSS_AUTH='ike:rsa/pss-sha256'

ID=$$
NA=oakA$ID
NB=oakB$ID
RUN=$(mktemp -d /tmp/oakley-cert.XXXXXX)
P=$RUN/pki
CHARON_PID= CHARON_A_PID= OAKLEY_PID=
failures=0

cleanup() {
  local p
  for p in $OAKLEY_PID $CHARON_A_PID $CHARON_PID; do kill -TERM "$p" 2>/dev/null; done
  for p in $OAKLEY_PID $CHARON_A_PID $CHARON_PID; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  if [[ -n ${KEEP:-} ]]; then echo "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

result() { # name, status
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

tools=(ip /usr/lib/ipsec/charon swanctl ping)
[[ $PEER_A == oakley && ${OAKLEY[0]} == dotnet ]] && tools+=(dotnet)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }
done
command -v pki >/dev/null || { echo "FAIL setup: pki is missing"; exit 1; }
[[ $PEER_A == oakley || $PEER_A == strongswan ]] || { echo "FAIL setup: PEER_A must be oakley or strongswan"; exit 1; }

# ---- the PKI ----
mkdir -p "$P"
pk() { pki "$@" 2>>"$P/pki.err"; } # pki reports its plugin loading (tpm) on stderr
DN() { echo "C=CH, O=Oakley Test, CN=$1"; }
gen_key() { # KIND FILE
  case $1 in
    rsa) pk --gen --type rsa --size 3072 --outform pem ;;
    p256) pk --gen --type ecdsa --size 256 --outform pem ;;
    p384) pk --gen --type ecdsa --size 384 --outform pem ;;
    ed25519) pk --gen --type ed25519 --outform pem ;;
  esac >"$2"
}
make_root() { # KIND NAME CN: NAME.key, NAME.pem (self-signed CA)
  gen_key "$1" "$P/$2.key" && pk --self --ca --in "$P/$2.key" --dn "$(DN "$3")" --lifetime 30 --outform pem >"$P/$2.pem"
}
make_cert() { # KIND NAME ISSUER CN [pki --issue options]: NAME.key, NAME.pem issued by ISSUER
  local kind=$1 name=$2 issuer=$3 cn=$4
  shift 4
  gen_key "$kind" "$P/$name.key" \
    && pk --issue --type priv --in "$P/$name.key" --cacert "$P/$issuer.pem" --cakey "$P/$issuer.key" --dn "$(DN "$cn")" \
      --outform pem "$@" >"$P/$name.pem"
}
make_ee() { # KIND NAME ISSUER SIDE(a|b) [options, default: serverAuth and clientAuth, 30 days]
  local kind=$1 name=$2 issuer=$3 host=$4.example addr
  [[ $4 == a ]] && addr=192.0.2.1 || addr=192.0.2.2
  shift 4
  (($#)) || set -- --flag serverAuth --flag clientAuth --lifetime 30
  make_cert "$kind" "$name" "$issuer" "$host" --san "$host" --san "$addr" "$@"
}
make_chain() { # KIND [TAG, default KIND]: root-TAG -> inta-TAG -> a-TAG, root-TAG -> intb-TAG -> b-TAG
  local t=${2:-$1}
  make_root "$1" "root-$t" "Root CA $t" \
    && make_cert "$1" "inta-$t" "root-$t" "Intermediate A $t" --ca --pathlen 0 --lifetime 30 \
    && make_cert "$1" "intb-$t" "root-$t" "Intermediate B $t" --ca --pathlen 0 --lifetime 30 \
    && make_ee "$1" "a-$t" "inta-$t" a && make_ee "$1" "b-$t" "intb-$t" b
}
make_raw() { # KIND: bare key pairs, no certificates: raw-a-KIND.key/.pub and raw-b-KIND.key/.pub (PEM "PUBLIC KEY")
  local s
  for s in a b; do
    gen_key "$1" "$P/raw-$s-$1.key" && pk --pub --in "$P/raw-$s-$1.key" --outform pem >"$P/raw-$s-$1.pub" || return 1
  done
}
make_bad_certs() { # the failure scenarios' certs, on the P-256 chain, for each side
  local s
  make_root p256 root-rogue "Rogue Root CA" && make_cert p256 int-rogue root-rogue "Rogue Intermediate" --ca --pathlen 0 --lifetime 30 || return 1
  for s in a b; do
    make_ee p256 "$s-expired" "int$s-p256" "$s" --flag serverAuth --flag clientAuth \
      --not-before "01.01.20 00:00:00" --not-after "01.01.21 00:00:00" \
      && make_ee p256 "$s-rogue" int-rogue "$s" \
      && make_ee p256 "$s-eku" "int$s-p256" "$s" --flag ocspSigning --lifetime 30 || return 1
  done
}
for kind in rsa p256 p384 ed25519; do
  make_chain "$kind" || { echo "FAIL setup: pki cannot make the $kind chain"; cat "$P/pki.err"; exit 1; }
done
make_bad_certs || { echo "FAIL setup: pki cannot make the failure scenarios' certs"; cat "$P/pki.err"; exit 1; }
# a second P-256 PKI (Root CA second, Intermediate A/B second) for A's second certificate, and raw key pairs
make_chain p256 second || { echo "FAIL setup: pki cannot make the second p256 chain"; cat "$P/pki.err"; exit 1; }
for kind in p256 ed25519; do
  make_raw "$kind" || { echo "FAIL setup: pki cannot make the raw $kind keys"; cat "$P/pki.err"; exit 1; }
done
[[ -n ${VERBOSE:-} ]] && for c in a-rsa b-expired b-eku; do pk --print --in "$P/$c.pem"; done

# ---- the two sides' swanctl directories: A = $RUN/ok (Oakley's --config dir), B = $RUN/sw/swanctl ----
side_dir() { [[ $1 == a ]] && echo "$RUN/ok" || echo "$RUN/sw/swanctl"; }
# cert_conf SIDE LOCAL_CRED LOCAL_ID REMOTE_ID REMOTE_CRED LOCAL_AUTH REMOTE_AUTH: swanctl.conf of one side; the CREDs
# are whole lines ("certs = a-rsa.pem", "cacerts = root-rsa.pem", "pubkeys = raw-b-p256.pub"); empty LOCAL_ID: the DN
cert_conf() {
  local la=192.0.2.1 ra=192.0.2.2 lts=198.51.100.0/24 rts=203.0.113.0/24
  [[ $1 == b ]] && la=192.0.2.2 ra=192.0.2.1 lts=203.0.113.0/24 rts=198.51.100.0/24
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $la
    remote_addrs = $ra
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = $6
      $2
$([[ -n $3 ]] && echo "      id = \"$3\"")
    }
    remote {
      auth = $7
      id = "$4"
      $5
    }
    children {
      net {
        local_ts = $lts
        remote_ts = $rts
        esp_proposals = aes256gcm16
      }
    }
  }
}
CONF
}
fresh_dirs() { # DIR: empty credential directories
  rm -rf "$1/x509" "$1/x509ca" "$1/private" "$1/pubkey"
  mkdir -p "$1/x509" "$1/x509ca" "$1/private" "$1/pubkey"
}
# setup KIND [VAR=value...]: both sides' directories and swanctl.conf for one scenario. Defaults: A holds a-KIND, B
# b-KIND; local ids are the subject DNs, remote ids the peer's DN; each side trusts root-KIND (remote.cacerts) and
# holds its intermediate. Override with A_CERT B_CERT (a list: local.certs in that order) A_ID B_ID A_RID B_RID A_AUTH
# B_AUTH A_RAUTH B_RAUTH A_CAS B_CAS A_ROOT B_ROOT.
setup() {
  local kind=$1 s d c certs
  shift
  local A_CERT=a-$kind B_CERT=b-$kind A_ID= B_ID= A_RID=$(DN b.example) B_RID=$(DN a.example)
  local A_AUTH=pubkey B_AUTH=pubkey A_RAUTH=pubkey B_RAUTH=pubkey A_CAS="root-$kind inta-$kind" B_CAS="root-$kind intb-$kind"
  local A_ROOT=root-$kind B_ROOT=root-$kind
  local kv
  for kv; do local "$kv"; done
  for s in A B; do
    d=$(side_dir "${s,}")
    fresh_dirs "$d"
    local cert=${s}_CERT cas=${s}_CAS id=${s}_ID rid=${s}_RID auth=${s}_AUTH rauth=${s}_RAUTH root=${s}_ROOT
    certs=
    for c in ${!cert}; do
      cp "$P/$c.pem" "$d/x509/"
      cp "$P/$c.key" "$d/private/"
      chmod 600 "$d/private/$c.key"
      certs+=${certs:+, }$c.pem
    done
    for c in ${!cas}; do cp "$P/$c.pem" "$d/x509ca/"; done
    cert_conf "${s,}" "certs = $certs" "${!id}" "${!rid}" "cacerts = ${!root}.pem" "${!auth}" "${!rauth}" >"$d/swanctl.conf"
  done
}
# setup_raw KIND: raw public keys (swanctl pubkeys), no certificate anywhere: each side has its private key in private/
# and both public keys in pubkey/ (local.pubkeys its own, remote.pubkeys the peer's); ids a.example and b.example.
setup_raw() {
  local kind=$1 s o d
  for s in a b; do
    [[ $s == a ]] && o=b || o=a
    d=$(side_dir "$s")
    fresh_dirs "$d"
    cp "$P/raw-$s-$kind.key" "$d/private/"
    chmod 600 "$d/private/raw-$s-$kind.key"
    cp "$P/raw-$s-$kind.pub" "$P/raw-$o-$kind.pub" "$d/pubkey/"
    cert_conf "$s" "pubkeys = raw-$s-$kind.pub" "$s.example" "$o.example" "pubkeys = raw-$o-$kind.pub" pubkey pubkey >"$d/swanctl.conf"
  done
}

# ---- topology (documentation addresses only, shared/interop.md) ----
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
setup rsa

# ---- strongSwan in B ----
launch_charon "$NB" "$RUN/sw" || { echo "FAIL setup: charon in B did not start"; cat "$RUN/sw/charon.out"; exit 1; }
CHARON_PID=$CHARON_STARTED
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all --clear >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }

# ---- A: Oakley, or (PEER_A=strongswan) a second charon reading the same directory ----
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/oakley.ctl"; }
SWA() { swanctl_in "$NA" "$RUN/swa" "$@"; }
if [[ $PEER_A == oakley ]]; then
  A_NAME=oakley A_LOG=$RUN/oakley.log
  ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/ok/swanctl.conf" --control "$RUN/oakley.ctl" >"$RUN/oakley.log" 2>&1 &
  OAKLEY_PID=$!
  for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
  [[ -S $RUN/oakley.ctl ]] || { echo "FAIL setup: oakley daemon did not start"; tail -20 "$RUN/oakley.log"; exit 1; }
  a_load() { OK load-all; }
  a_up() { OK initiate --child net --timeout 20; }
  a_sas() { OK list-sas; }
  a_down() { OK terminate; }
else
  A_NAME=strongswan-A A_LOG=$RUN/swa/charon.log
  mkdir -p "$RUN/swa"
  ln -s "$RUN/ok" "$RUN/swa/swanctl"
  launch_charon "$NA" "$RUN/swa" || { echo "FAIL setup: charon in A did not start"; cat "$RUN/swa/charon.out"; exit 1; }
  CHARON_A_PID=$CHARON_STARTED
  a_load() { SWA --load-all --clear; }
  a_up() { SWA --initiate --child net --timeout 20; }
  a_sas() { SWA --list-sas; }
  a_down() { SWA --terminate --ike tunnel --timeout 5; }
fi
B_LOG=$RUN/sw/charon.log

# ---- helpers ----
reload() { # both sides reload their directories; A's refusal is shown
  SW --load-all --clear >"$RUN/load-b.out" 2>&1 || { echo "  swanctl --load-all in B failed:"; sed 's/^/    /' "$RUN/load-b.out"; }
  a_load >"$RUN/load-a.out" 2>&1 || { echo "  $A_NAME load-all failed:"; sed 's/^/    /' "$RUN/load-a.out"; return 1; }
}
clear_sas() {
  a_down >/dev/null 2>&1
  SW --terminate --ike tunnel --timeout 5 >/dev/null 2>&1
  sleep 0.5
}
no_sas() { ! SW --list-sas 2>/dev/null | grep -q ESTABLISHED && ! a_sas 2>/dev/null | grep -q ESTABLISHED; }
both_up() { SW --list-sas 2>/dev/null | grep -q ESTABLISHED && a_sas 2>/dev/null | grep -q ESTABLISHED; }
ping_from() { # SIDE: a ping from that side's inner address to the other's, through the tunnel
  if [[ $1 == a ]]; then ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1
  else ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1; fi >"$RUN/ping.out" 2>&1
}
up_from() { if [[ $1 == a ]]; then a_up; else SW --initiate --child net --timeout 20; fi >"$RUN/up.out" 2>&1; }
who() { [[ $1 == a ]] && echo "$A_NAME" || echo strongswan; }
# log offsets, so that a scenario greps only what it caused (a log that was truncated restarts at 0)
mark_logs() { MARK_A=$(stat -c %s "$A_LOG" 2>/dev/null || echo 0); MARK_B=$(stat -c %s "$B_LOG" 2>/dev/null || echo 0); }
since() { # SIDE: that side's log lines since mark_logs
  local f=$A_LOG m=$MARK_A
  [[ $1 == b ]] && f=$B_LOG m=$MARK_B
  (($(stat -c %s "$f" 2>/dev/null || echo 0) < m)) && m=0
  tail -c +$((m + 1)) "$f" 2>/dev/null
}
log_has() { # SIDE WORDS: that side's log since mark_logs contains WORDS (no pipe into grep -q: pipefail and SIGPIPE)
  since "$1" >"$RUN/since.log"
  grep -q -- "$2" "$RUN/since.log"
}
explain() { # what went wrong, from both logs
  echo "  ESTABLISHED now: $A_NAME $(a_sas 2>/dev/null | grep -c ESTABLISHED), strongswan $(SW --list-sas 2>/dev/null | grep -c ESTABLISHED)"
  echo "  --- $A_NAME (A) log:"; since a | grep -v -E '^\s*$' | tail -15 | sed 's/^/    /'
  echo "  --- strongswan (B) charon.log:"; since b | tail -15 | sed 's/^/    /'
}
set_rsa_pss() { # yes|no: charon.rsa_pss for strongSwan (both charons with PEER_A=strongswan), reloaded
  local d
  for d in "$RUN/sw" "$RUN/swa"; do
    [[ -f $d/strongswan.conf ]] || continue
    sed -i -e '/^  rsa_pss = /d' -e 's/append = no/append = yes/' "$d/strongswan.conf" # reloading truncates otherwise
    [[ $1 == yes ]] && sed -i 's/^charon {$/charon {\n  rsa_pss = yes/' "$d/strongswan.conf"
  done
  SW --reload-settings >/dev/null 2>&1
  [[ $PEER_A == strongswan ]] && SWA --reload-settings >/dev/null 2>&1
  return 0
}

# expect_up NAME [CHECK]: from each side in turn the tunnel comes up (ESTABLISHED on both) and carries a ping;
# CHECK is an extra command that must succeed (it can read since a / since b).
expect_up() {
  local name=$1 check=${2:-true} s rc
  for s in a b; do
    mark_logs
    up_from "$s" && both_up && ping_from "$s" && $check
    rc=$?
    result "$(who "$s")-initiates $name: ESTABLISHED, ping through the tunnel" $rc
    ((rc)) && explain
    clear_sas
  done
}
# expect_fail NAME CHECKER(a|b) OAKLEY_WORDS STRONGSWAN_WORDS: from each side in turn the negotiation fails, no
# ESTABLISHED SA is left on either side, and the checking side's log names the reason (no words: not checked;
# CHECKER -: either side may refuse).
expect_fail() {
  local name=$1 checker=$2 words s rc said
  words=$4
  [[ $checker == a && $PEER_A == oakley ]] && words=$3
  said=
  [[ -n $words ]] && said=", its log says '$words'"
  [[ $checker != - ]] && name+=", $(who "$checker") checks"
  for s in a b; do
    mark_logs
    ! up_from "$s" && sleep 1 && no_sas && { [[ -z $words ]] || log_has "$checker" "$words"; }
    rc=$?
    result "$(who "$s")-initiates $name: no SA$said" $rc
    ((rc)) && explain
    clear_sas
  done
}
rsa_pss_used() { # B signed with RSASSA-PSS and verified A's RSASSA-PSS signature
  log_has b "(myself) with RSA_EMSA_PSS" && grep -v "(myself)" "$RUN/since.log" | grep -c "authentication of .* with RSA_EMSA_PSS" >/dev/null
}
b_log_has_all() { # LINES...: B's charon.log since mark_logs contains each (fixed strings); names the first one missing
  local w
  since b >"$RUN/since.log"
  for w; do grep -qF -- "$w" "$RUN/since.log" || { echo "  strongswan's charon.log lacks: $w"; return 1; }; done
}
certreq_honoured() { # KIND: CERTREQs went both ways (naming the root) and each side sent end entity + intermediate
  b_log_has_all "received cert request for \"$(DN "Root CA $1")\"" "sending cert request for \"$(DN "Root CA $1")\"" \
    "sending end entity cert \"$(DN b.example)\"" "sending issuer cert \"$(DN "Intermediate B $1")\"" \
    "received end entity cert \"$(DN a.example)\"" "received issuer cert \"$(DN "Intermediate A $1")\""
}
no_certs() { # neither side sent a CERT or a CERTREQ (B's log), and B verified A's raw key
  b_log_has_all "authentication of 'a.example' with" && ! grep -q -E 'cert request|end entity cert|issuer cert' "$RUN/since.log"
}
second_cert_sent() { # A sent its second certificate (Intermediate A second), not the first (Intermediate A p256)
  b_log_has_all "received cert request for \"$(DN "Root CA second")\"" "received end entity cert \"$(DN a.example)\"" \
    "received issuer cert \"$(DN "Intermediate A second")\"" && ! grep -q "Intermediate A p256" "$RUN/since.log"
}

# ---- 1-4: one chain per key type; B's log shows the CERTREQs and that both sides sent end entity + intermediate ----
for kind in rsa p256 p384 ed25519; do
  setup "$kind" && reload
  expect_up "$kind chain (root, intermediate, end entity), CERTREQs honoured both ways" "certreq_honoured $kind"
done

# ---- 5: RSA with RSASSA-PSS signatures in IKE_AUTH ----
set_rsa_pss yes
setup rsa A_AUTH="$A_PSS_AUTH" A_RAUTH="$A_PSS_AUTH" B_RAUTH=ike:rsa/pss-sha256 && reload
expect_up "rsa chain with RSASSA-PSS (charon.rsa_pss = yes)" rsa_pss_used
set_rsa_pss no

# ---- 6: identities as FQDNs (the SANs) instead of the subject DNs ----
setup p256 A_ID=a.example B_ID=b.example A_RID=b.example B_RID=a.example && reload
expect_up "p256 chain, id = FQDN (subjectAltName)"

# ---- 7-11: failures. A checks B's bad certificate (or its id); with PEER_A=strongswan also the mirror image ----
checkers=a
[[ $PEER_A == strongswan ]] && checkers="a b"
for checker in $checkers; do
  if [[ $checker == a ]]; then bad=B; else bad=A; fi
  bs=${bad,}
  setup p256 "${bad}_CERT=$bs-expired" && reload
  expect_fail "expired cert on $bad" "$checker" "$OK_EXPIRED" "$SW_EXPIRED"
  setup p256 "${bad}_CERT=$bs-rogue" "${bad}_CAS=root-p256 root-rogue int-rogue" && reload
  expect_fail "cert from an untrusted CA on $bad" "$checker" "$OK_UNTRUSTED" "$SW_UNTRUSTED"
  # the peer claims id c.example (strongSwan sends a local id its cert does not contain) and the checker expects it
  setup p256 "${bad}_ID=c.example" "${checker^}_RID=c.example" && reload
  expect_fail "$bad claims id c.example, its cert is for $bs.example" "$checker" "$OK_ID" "$SW_ID"
  # only the checker expects c.example: the responder finds no matching config (strongSwan: "no matching peer config
  # found"; as initiator strongSwan sends IDr = c.example), so the side that refuses depends on the roles
  setup p256 "${checker^}_RID=c.example" && reload
  expect_fail "$(who "$checker") expects id c.example, $bad is $bs.example" - "" ""
  setup p256 "${bad}_CERT=$bs-eku" && reload
  if [[ $checker == a && $PEER_A == oakley ]]; then
    expect_fail "cert with extendedKeyUsage ocspSigning only on $bad" "$checker" "$OK_EKU" ""
  else # strongSwan 5.9 accepts it
    expect_up "cert with extendedKeyUsage ocspSigning only on $bad, accepted by $(who "$checker") (no EKU check)"
  fi
done

# ---- 12-13: raw public keys (pubkeys), no certificate on either side ----
for kind in p256 ed25519; do
  setup_raw "$kind" && reload
  expect_up "raw $kind public keys (pubkeys, no certificates)" no_certs
done

# ---- 14: A has two certs for a.example (certs = first, second; two PKIs), B trusts only the second root: A must send
# the one B's CERTREQ asks for. A's x509ca/ holds both its roots (the second is also B's) and both intermediates.
setup p256 A_CERT="a-p256 a-second" B_CERT=b-second A_CAS="root-p256 inta-p256 root-second inta-second" \
  B_CAS="root-second intb-second" A_ROOT=root-second B_ROOT=root-second && reload
expect_up "two certs for a.example (CAs p256, second), B trusts only the second: the one its CERTREQ names" second_cert_sent

if ((failures > 0)); then
  echo "--- $A_NAME log (A)"; tail -40 "$A_LOG"
  echo "--- charon.log (B)"; tail -60 "$B_LOG"
fi
exit $((failures > 0))
