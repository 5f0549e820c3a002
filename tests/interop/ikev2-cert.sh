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
source "$(dirname "$0")/cert-lib.bash"

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

trap cleanup EXIT
check_tools

# ---- the PKI ----
mkdir -p "$P"
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
SW --load-all --clear >"$RUN/load.out" 2>&1 || { echo "FAIL setup: swanctl --load-all"; cat "$RUN/load.out"; exit 1; }

# ---- A: Oakley, or (PEER_A=strongswan) a second charon reading the same directory (cert-lib.bash) ----
start_a
B_LOG=$RUN/sw/charon.log

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

rsa_pss_used() { # B signed with RSASSA-PSS and verified A's RSASSA-PSS signature
  log_has b "(myself) with RSA_EMSA_PSS" && grep -v "(myself)" "$RUN/since.log" | grep -c "authentication of .* with RSA_EMSA_PSS" >/dev/null
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
