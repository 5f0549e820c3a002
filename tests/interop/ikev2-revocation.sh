#!/usr/bin/env bash
# Interop: certificate revocation. Oakley in namespace A checks the certificate of strongSwan 5.9 (charon +
# kernel-libipsec) in namespace B: CRLs over HTTP (the certificate's CRL distribution point), CRLs in x509crl/, OCSP
# (the certificate's authorityInfoAccess, the CA or a delegated responder signing), and swanctl's revocation = strict
# and relaxed. Each scenario runs with Oakley initiating and with strongSwan initiating.
# Usage: tests/interop/ikev2-revocation.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, strongSwan
# with pki, python3 (the HTTP server) and openssl (the OCSP responder). PEER_A=strongswan runs a second charon in A
# instead of Oakley (with the curl plugin for fetching): the same PKI and configurations, strongSwan checking, as the
# reference for what must pass and fail. Prints one "PASS name" / "FAIL name" line per check and exits non-zero if
# any failed. KEEP=1 keeps $RUN (logs, configs, the PKI, the servers' files).
#
# The PKI (made at test time in $RUN with pki, P-256): root-rv -> inta-rv -> a-rv (A's certificate, no URIs) and
# root-rv -> intb-rv -> B's end-entity certificates, all with the subject b.example, issued by intb-rv:
#   b-cdp       CRL distribution point $CRL_URL, not revoked
#   b-cdp-rev   the same, revoked (key compromise) in int.crl
#   b-file-rev  no URIs, revoked (superseded) in int.crl, which A gets in its x509crl/
#   b-ocsp      authorityInfoAccess OCSP $OCSP_URL, good in the responder's index.txt
#   b-ocsp-rev  the same, revoked in index.txt
#   b-deleg-rev OCSP $DELEG_URL: a second responder signing with ocsp-rv (issued by intb-rv, EKU ocspSigning); revoked
#   b-plain     no URIs and in no CRL
# int.crl is intb-rv's CRL (pki --signcrl), served by python3 -m http.server in B (bound to 192.0.2.2:8080). root.crl
# is root-rv's empty CRL, in A's x509crl/ for the strict scenarios: strict checks every certificate below the trust
# anchor, so intb-rv needs one too. The OCSP responders are openssl ocsp in B on ports 8081 and 8082: OpenSSL 3.0's
# -port takes a number only, so they listen on every address of namespace B (192.0.2.2, 203.0.113.1, loopback).
#
# Oakley fetches off its engine thread: while a fetch is in flight it drops the IKE_AUTH message (strict) and takes
# the retransmission, so a first attempt may take one retransmission (4 s): initiates use --timeout $UP_TIMEOUT.
#
# Scenarios (A checks B; success: ESTABLISHED on both sides and a ping; failure: no SA on either side and A's log
# names the reason; after a refused Oakley initiation also list-sas --json's last-failures):
#   1 CRL via HTTP, good, strict -> up      2 CRL via HTTP, revoked, strict -> refused
#   3 CRL in x509crl/, revoked -> refused    4 OCSP good, strict -> up, and again after load-all (answer cached)
#   5 OCSP revoked, strict -> refused; the same relaxed after load-all (answer cached) -> refused; delegated responder
#   6 no CRL/OCSP at all: strict -> refused, relaxed -> up
#   7 relaxed on first contact (A restarted, nothing cached), CRL via HTTP, revoked -> refused
# strongSwan 5.9.8 (PEER_A=strongswan) passes all of them: it fetches before it decides, also with relaxed, and it asks
# the responder again after a reload.
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
PEER_A=${PEER_A:-oakley}
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cert-lib.bash"

CRL_URL=http://192.0.2.2:8080/int.crl
OCSP_URL=http://192.0.2.2:8081/
DELEG_URL=http://192.0.2.2:8082/
UP_TIMEOUT=30
# Substrings of the checking side's log (fixed strings; adapt them here if the wording changes). Oakley:
OK_REVOKED='revoked on '                         # certificate '<subject>' revoked on YYYY-MM-DD[, reason] (<source>)
OK_CRL_HTTP="(CRL from $CRL_URL)"
OK_CRL_FILE='(CRL from '                         # followed by the file's full path in x509crl/
OK_OCSP="(OCSP from ${OCSP_URL%/}"
OK_DELEG="(OCSP from ${DELEG_URL%/}"
OK_UNKNOWN='revocation status of certificate'    # ... '<subject>' unknown (<why>; revocation = strict)
OK_UNKNOWN_2='unknown ('
# strongSwan 5.9.8 (PEER_A=strongswan), its revocation plugin (it names the fetch only the first time, then "using
# cached crl" / "using cached ocsp response"; a CRL from x509crl/ looks like a cached one):
SW_REVOKED='certificate was revoked on'
SW_CRL='crl correctly signed by "C=CH, O=Oakley Test, CN=Intermediate B rv"'
SW_OCSP='ocsp response correctly signed by "C=CH, O=Oakley Test, CN=Intermediate B rv"'
SW_DELEG='ocsp response correctly signed by "C=CH, O=Oakley Test, CN=OCSP responder B rv"'
SW_UNKNOWN='certificate status is not available'
SW_UNKNOWN_2='constraint check failed'

ID=$$
NA=oakRA$ID
NB=oakRB$ID
RUN=$(mktemp -d /tmp/oakley-revoc.XXXXXX)
P=$RUN/pki
WWW=$RUN/www
CHARON_PID= CHARON_A_PID= OAKLEY_PID= SERVER_PIDS=
HTTP_PID= OCSP_PID= DELEG_PID=
failures=0
trap cleanup EXIT
check_tools python3 openssl curl
PY=$(command -v python3)
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

# ---- the PKI ----
mkdir -p "$P" "$WWW"
make_pki() {
  make_root p256 root-rv "Root CA rv" \
    && make_cert p256 inta-rv root-rv "Intermediate A rv" --ca --pathlen 0 --lifetime 30 \
    && make_cert p256 intb-rv root-rv "Intermediate B rv" --ca --pathlen 0 --lifetime 30 \
    && make_ee p256 a-rv inta-rv a \
    && make_cert p256 ocsp-rv intb-rv "OCSP responder B rv" --flag ocspSigning --lifetime 30 || return 1
  local eku=(--flag serverAuth --flag clientAuth --lifetime 30)
  make_ee p256 b-cdp intb-rv b "${eku[@]}" --crl "$CRL_URL" \
    && make_ee p256 b-cdp-rev intb-rv b "${eku[@]}" --crl "$CRL_URL" \
    && make_ee p256 b-file-rev intb-rv b "${eku[@]}" \
    && make_ee p256 b-ocsp intb-rv b "${eku[@]}" --ocsp "$OCSP_URL" \
    && make_ee p256 b-ocsp-rev intb-rv b "${eku[@]}" --ocsp "$OCSP_URL" \
    && make_ee p256 b-deleg-rev intb-rv b "${eku[@]}" --ocsp "$DELEG_URL" \
    && make_ee p256 b-plain intb-rv b "${eku[@]}" || return 1
  # the CRLs: intb-rv's revokes b-cdp-rev and b-file-rev; root-rv's revokes nothing
  pk --signcrl --cacert "$P/intb-rv.pem" --cakey "$P/intb-rv.key" --lifetime 7 \
    --reason key-compromise --cert "$P/b-cdp-rev.pem" --reason superseded --cert "$P/b-file-rev.pem" \
    --outform pem >"$P/int.crl" \
    && pk --signcrl --cacert "$P/root-rv.pem" --cakey "$P/root-rv.key" --lifetime 7 --outform pem >"$P/root.crl" \
    && cp "$P/int.crl" "$WWW/int.crl"
}
# index_line STATUS(V|R) CERT: the certificate's line in OpenSSL's CA database (index.txt), tab-separated: status,
# expiry (YYMMDDHHMMSSZ), revocation date[,reason] (empty for V), serial (hex), file name ("unknown"), subject.
index_line() {
  local exp serial subject revoked=
  exp=$(date -u -d "$(openssl x509 -in "$P/$2.pem" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
  serial=$(openssl x509 -in "$P/$2.pem" -noout -serial | cut -d= -f2)
  subject=$(openssl x509 -in "$P/$2.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
  [[ $1 == R ]] && revoked="$(date -u -d '-1 hour' +%y%m%d%H%M%SZ),keyCompromise"
  printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$1" "$exp" "$revoked" "$serial" "$subject"
}
make_pki && { index_line V b-ocsp && index_line R b-ocsp-rev && index_line R b-deleg-rev; } >"$P/index.txt" \
  || { echo "FAIL setup: cannot make the PKI, CRLs and index.txt"; cat "$P/pki.err"; exit 1; }

# ---- topology (documentation addresses only) and the servers in B ----
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
in_a() { ip netns exec "$NA" "$@"; }
# up_within SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds, at most SECONDS
up_within() {
  local n=$(($1 * 5))
  shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}
ip netns exec "$NB" "$PY" -m http.server 8080 --bind 192.0.2.2 --directory "$WWW" >"$RUN/http.log" 2>&1 &
HTTP_PID=$!
SERVER_PIDS+=" $HTTP_PID"
# OCSP responder PORT SIGNER: openssl ocsp answering from index.txt for intb-rv, responses signed by SIGNER
ocsp_responder() {
  ip netns exec "$NB" openssl ocsp -index "$P/index.txt" -port "$1" -CA "$P/intb-rv.pem" \
    -rsigner "$P/$2.pem" -rkey "$P/$2.key" -ndays 1 >"$RUN/ocsp-$1.log" 2>&1 &
}
ocsp_responder 8081 intb-rv
OCSP_PID=$!
ocsp_responder 8082 ocsp-rv
DELEG_PID=$!
SERVER_PIDS+=" $OCSP_PID $DELEG_PID"
# from A, over the veth: the CRL, and each responder's answers (verified against root-rv)
ocsp_ask() { # URL CERT...: openssl ocsp's client from A, answer in $RUN/ocsp-ask.out
  local url=$1 args=() c
  shift
  for c; do args+=(-cert "$P/$c.pem"); done
  in_a openssl ocsp -issuer "$P/intb-rv.pem" "${args[@]}" -url "$url" -CAfile "$P/root-rv.pem" \
    -verify_other "$P/intb-rv.pem" -resp_text >"$RUN/ocsp-ask.out" 2>&1
}
up_within 10 in_a curl -fsS -o "$RUN/int.crl.fetched" "$CRL_URL" && cmp -s "$RUN/int.crl.fetched" "$P/int.crl"
result "setup: the CRL server answers $CRL_URL from namespace A" $?
up_within 10 ocsp_ask "$OCSP_URL" b-ocsp b-ocsp-rev && grep -q "b-ocsp.pem: good" "$RUN/ocsp-ask.out" \
  && grep -q "b-ocsp-rev.pem: revoked" "$RUN/ocsp-ask.out" && grep -q "Response verify OK" "$RUN/ocsp-ask.out"
result "setup: the OCSP responder $OCSP_URL (signed by Intermediate B rv) says good and revoked" $?
((failures)) && sed 's/^/    /' "$RUN/ocsp-ask.out"
up_within 10 ocsp_ask "$DELEG_URL" b-deleg-rev && grep -q "b-deleg-rev.pem: revoked" "$RUN/ocsp-ask.out" \
  && grep -q "Responder Id: .*OCSP responder B rv" "$RUN/ocsp-ask.out" && grep -q "Response verify OK" "$RUN/ocsp-ask.out"
result "setup: the OCSP responder $DELEG_URL (signed by OCSP responder B rv) says revoked" $?
((failures)) && { echo "FAIL setup: the servers do not answer"; tail -5 "$RUN/http.log" "$RUN"/ocsp-*.log; exit 1; }

# ---- strongSwan in B, and A ----
setup rv B_CERT=b-plain
launch_charon "$NB" "$RUN/sw" || { echo "FAIL setup: charon in B did not start"; cat "$RUN/sw/charon.out"; exit 1; }
CHARON_PID=$CHARON_STARTED
SW --load-all --clear >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }
B_LOG=$RUN/sw/charon.log
if [[ $PEER_A == strongswan ]]; then # A's charon fetches with the curl plugin; its log survives the restart
  eval "lib_$(declare -f strongswan_conf)"
  strongswan_conf() { lib_strongswan_conf "$@" | sed -e 's/ revocation / revocation curl /' -e 's/append = no/append = yes/'; }
fi
start_a

# ---- checks ----
# said WORDS...: the checking side (A) logged each of WORDS since mark_logs
said() { log_has_all a "$@"; }
# last_failure WORDS: oakley list-sas --json has a last-failures entry for "tunnel", from since mark_logs, whose reason
# contains WORDS
last_failure() {
  OK list-sas --json >"$RUN/sas.json" 2>&1
  "$PY" - "$RUN/sas.json" "$1" "$MARK_TIME" <<'PY' || { echo "  list-sas --json, since $MARK_TIME:"; sed 's/^/    /' "$RUN/sas.json"; return 1; }
import json, sys
doc = json.load(open(sys.argv[1]))
sys.exit(0 if any(f.get("connection") == "tunnel" and sys.argv[2] in (f.get("reason") or "") and f.get("time", "") >= sys.argv[3]
                  for f in doc.get("last-failures", [])) else 1)
PY
}
if [[ $PEER_A == oakley ]]; then
  revoked_crl_http() { said "$OK_REVOKED" "$OK_CRL_HTTP"; }
  revoked_crl_file() { said "$OK_REVOKED" "$OK_CRL_FILE$RUN/ok/x509crl/int.crl)"; }
  revoked_ocsp() { said "$OK_REVOKED" "$OK_OCSP"; }
  revoked_deleg() { said "$OK_REVOKED" "$OK_DELEG"; }
  status_unknown() { said "$OK_UNKNOWN" "$OK_UNKNOWN_2"; }
  WHY_CRL_HTTP="'$OK_REVOKED' '$OK_CRL_HTTP'" WHY_CRL_FILE="'$OK_REVOKED' '$OK_CRL_FILE<x509crl/int.crl>)'"
  WHY_OCSP="'$OK_REVOKED' '$OK_OCSP'" WHY_DELEG="'$OK_REVOKED' '$OK_DELEG'" WHY_UNKNOWN="'$OK_UNKNOWN' '$OK_UNKNOWN_2'"
else
  revoked_crl_http() { said "$SW_CRL" "$SW_REVOKED"; }
  revoked_crl_file() { said "$SW_CRL" "$SW_REVOKED"; }
  revoked_ocsp() { said "$SW_OCSP" "$SW_REVOKED"; }
  revoked_deleg() { said "$SW_DELEG" "$SW_REVOKED"; }
  status_unknown() { said "$SW_UNKNOWN" "$SW_UNKNOWN_2"; }
  WHY_CRL_HTTP="'$SW_CRL' '$SW_REVOKED'" WHY_CRL_FILE=$WHY_CRL_HTTP
  WHY_OCSP="'$SW_OCSP' '$SW_REVOKED'" WHY_DELEG="'$SW_DELEG' '$SW_REVOKED'" WHY_UNKNOWN="'$SW_UNKNOWN' '$SW_UNKNOWN_2'"
fi
# expect_refused NAME CHECK WHY LF_WORDS: from each side in turn the negotiation fails, no ESTABLISHED SA is left on
# either side, and CHECK (A's log gives the reason: WHY, for the PASS/FAIL line) succeeds; when Oakley initiated, also
# a second line: list-sas --json has a last-failures entry for "tunnel" from this attempt whose reason contains
# LF_WORDS. (Oakley records failed initiations only: a responder's IKE SA that never came up emits no IkeSaDown.)
expect_refused() {
  local name=$1 check=$2 why=$3 lf=$4 s rc
  for s in a b; do
    mark_logs
    ! up_from "$s" && sleep 1 && no_sas && $check
    rc=$?
    result "$(who "$s")-initiates $name: no SA, $A_NAME's log says $why" $rc
    ((rc)) && explain
    if [[ $PEER_A == oakley && $s == a ]]; then
      last_failure "$lf"
      rc=$?
      result "$(who "$s")-initiates $name: list-sas --json last-failures has '$lf'" $rc
    fi
    clear_sas
  done
}
crl_fetched() { grep -q '"GET /int.crl HTTP/1.[01]" 200' "$RUN/http.log"; }
# revoc B_CERT [VAR=value...]: A checks B's B_CERT; root.crl in A's x509crl/ unless A_CRLS is given
revoc() {
  local cert=$1
  shift
  setup rv B_CERT="$cert" A_CRLS=root.crl "$@" && reload
}
STRICT="revocation = strict"

# 1. CRL from the distribution point over HTTP, B's certificate not revoked, strict (the fetch works)
revoc b-cdp A_REMOTE="$STRICT"
expect_up "CRL via HTTP distribution point, not revoked, revocation = strict (GET /int.crl seen)" crl_fetched
# 2. the same CRL revokes B's certificate
revoc b-cdp-rev A_REMOTE="$STRICT"
expect_refused "CRL via HTTP distribution point, revoked, revocation = strict" revoked_crl_http "$WHY_CRL_HTTP" "$OK_CRL_HTTP"
# 3. a CRL in A's x509crl/ revokes B's certificate (no URI in it), default revocation (relaxed)
revoc b-file-rev A_CRLS="root.crl int.crl"
expect_refused "CRL in x509crl/, revoked, revocation relaxed (default)" revoked_crl_file "$WHY_CRL_FILE" "$OK_CRL_FILE$RUN/ok/x509crl/int.crl)"
# 4. OCSP good (no CRL distribution point in B's certificate), strict; again after a reload with the answer cached
revoc b-ocsp A_REMOTE="$STRICT"
expect_up "OCSP good, no CRL distribution point, revocation = strict"
reload
expect_up "OCSP good, revocation = strict, again after load-all (the same configuration)"
# 5. OCSP revoked: the responder signs with the CA (Intermediate B rv); the same with revocation relaxed; then a
# delegated responder (EKU ocspSigning) signs
revoc b-ocsp-rev A_REMOTE="$STRICT"
expect_refused "OCSP revoked (responder: the issuing CA), revocation = strict" revoked_ocsp "$WHY_OCSP" "$OK_OCSP"
# the same certificate with revocation relaxed (the default): a reload, and the responder's answer is still cached
revoc b-ocsp-rev
expect_refused "OCSP revoked, revocation relaxed (default), after load-all (the answer cached)" revoked_ocsp "$WHY_OCSP" "$OK_OCSP"
revoc b-deleg-rev A_REMOTE="$STRICT"
expect_refused "OCSP revoked (delegated responder, EKU ocspSigning), revocation = strict" revoked_deleg "$WHY_DELEG" "$OK_DELEG"
# 6. no CRL distribution point, no OCSP, no CRL for B's certificate: strict refuses, relaxed accepts
revoc b-plain A_REMOTE="$STRICT"
expect_refused "no CRL or OCSP for the certificate, revocation = strict" status_unknown "$WHY_UNKNOWN" "$OK_UNKNOWN"
revoc b-plain A_REMOTE="revocation = relaxed"
expect_up "no CRL or OCSP for the certificate, revocation = relaxed"
# 7. relaxed (the default) on first contact: A restarts (nothing cached), B's certificate is revoked in the CRL of
# its distribution point. strongSwan fetches before deciding; a checker that decides before the CRL is in accepts it.
stop_a
setup rv B_CERT=b-cdp-rev A_CRLS=root.crl
SW --load-all --clear >"$RUN/load-b.out" 2>&1
start_a
a_load >"$RUN/load-a.out" 2>&1 || { echo "  $A_NAME load-all failed:"; sed 's/^/    /' "$RUN/load-a.out"; }
expect_refused "first contact after a restart (nothing cached), CRL via HTTP, revoked, revocation relaxed (default)" revoked_crl_http "$WHY_CRL_HTTP" "$OK_CRL_HTTP"

if ((failures > 0)); then
  echo "--- $A_NAME log (A)"; tail -40 "$A_LOG"
  echo "--- charon.log (B)"; tail -40 "$B_LOG"
fi
exit $((failures > 0))
