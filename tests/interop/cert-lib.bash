# Shared by ikev2-cert.sh and ikev2-revocation.sh (sourced, not run: test.sh runs only tests/interop/*.sh): a
# throwaway PKI made with strongSwan's pki, the two sides' swanctl directories, starting side A (Oakley, or with
# PEER_A=strongswan a second charon), and the scenario runners expect_up / expect_fail with their PASS/FAIL lines.
#
# The sourcing script sets, before calling these: RUN (its run directory), P (the PKI directory, inside RUN), NA and NB
# (the namespaces), OAKLEY (the command that runs Oakley, an array), PEER_A (oakley|strongswan), failures=0, and
# CHARON_PID (strongSwan in B). start_a sets A_NAME, A_LOG, OAKLEY_PID or CHARON_A_PID and the a_* functions.
# Optional: UP_TIMEOUT (seconds an initiate may take, default 20), SERVER_PIDS (more processes cleanup stops).
# Needs lib.sh (launch_charon, swanctl_in) sourced first.

result() { # name, status
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

# stop_pids PID...: SIGTERM, up to 3 s for each to exit, then SIGKILL (only the PIDs given: processes we started).
stop_pids() {
  local p
  for p; do kill -TERM "$p" 2>/dev/null; done
  for p; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  return 0
}

cleanup() {
  # shellcheck disable=SC2086 # word splitting wanted: lists of PIDs, possibly empty
  stop_pids ${SERVER_PIDS:-} $OAKLEY_PID $CHARON_A_PID $CHARON_PID
  ip netns del "$NA" 2>/dev/null
  ip netns del "$NB" 2>/dev/null
  if [[ -n ${KEEP:-} ]]; then echo "kept $RUN"; else rm -rf "$RUN"; fi
}

# check_tools TOOL...: the tools everything needs (and the named ones) exist; prints a FAIL setup line and exits if not.
check_tools() {
  local tools=(ip /usr/lib/ipsec/charon swanctl ping pki "$@") tool
  [[ $PEER_A == oakley && ${OAKLEY[0]} == dotnet ]] && tools+=(dotnet)
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }
  done
  [[ $PEER_A == oakley || $PEER_A == strongswan ]] || { echo "FAIL setup: PEER_A must be oakley or strongswan"; exit 1; }
}

# ---- the PKI, in $P ----
pk() { pki "$@" 2>>"$P/pki.err"; } # pki reports its plugin loading (tpm) on stderr
DN() { echo "C=CH, O=Oakley Test, CN=$1"; }
gen_key() { # KIND FILE
  case $1 in
    rsa) pk --gen --type rsa --size 3072 --outform pem ;;
    rsa2048) pk --gen --type rsa --size 2048 --outform pem ;;
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

# ---- the two sides' swanctl directories: A = $RUN/ok (Oakley's --config dir), B = $RUN/sw/swanctl ----
side_dir() { [[ $1 == a ]] && echo "$RUN/ok" || echo "$RUN/sw/swanctl"; }
# cert_conf SIDE LOCAL_CRED LOCAL_ID REMOTE_ID REMOTE_CRED LOCAL_AUTH REMOTE_AUTH [REMOTE_KEYS]: swanctl.conf of one
# side; the CREDs are whole lines ("certs = a-rsa.pem", "cacerts = root-rsa.pem", "pubkeys = raw-b-p256.pub"); empty
# LOCAL_ID: the DN; REMOTE_KEYS: more lines for the remote section ("revocation = strict").
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
$([[ -n ${8:-} ]] && sed 's/^/      /' <<<"$8")
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
  rm -rf "$1/x509" "$1/x509ca" "$1/x509crl" "$1/private" "$1/pubkey"
  mkdir -p "$1/x509" "$1/x509ca" "$1/x509crl" "$1/private" "$1/pubkey"
}
# setup KIND [VAR=value...]: both sides' directories and swanctl.conf for one scenario. Defaults: A holds a-KIND, B
# b-KIND; local ids are the subject DNs, remote ids the peer's DN; each side trusts root-KIND (remote.cacerts) and
# holds its intermediate. Override with A_CERT B_CERT (a list: local.certs in that order) A_ID B_ID A_RID B_RID A_AUTH
# B_AUTH A_RAUTH B_RAUTH A_CAS B_CAS A_ROOT B_ROOT; A_CRLS B_CRLS (files of $P copied to x509crl/, default none);
# A_REMOTE B_REMOTE (more lines for the remote section, e.g. "revocation = strict").
setup() {
  local kind=$1 s d c certs
  shift
  local A_CERT=a-$kind B_CERT=b-$kind A_ID= B_ID= A_RID=$(DN b.example) B_RID=$(DN a.example)
  local A_AUTH=pubkey B_AUTH=pubkey A_RAUTH=pubkey B_RAUTH=pubkey A_CAS="root-$kind inta-$kind" B_CAS="root-$kind intb-$kind"
  local A_ROOT=root-$kind B_ROOT=root-$kind A_CRLS= B_CRLS= A_REMOTE= B_REMOTE=
  local kv
  for kv; do local "$kv"; done
  for s in A B; do
    d=$(side_dir "${s,}")
    fresh_dirs "$d"
    local cert=${s}_CERT cas=${s}_CAS id=${s}_ID rid=${s}_RID auth=${s}_AUTH rauth=${s}_RAUTH root=${s}_ROOT
    local crls=${s}_CRLS remote=${s}_REMOTE
    certs=
    for c in ${!cert}; do
      cp "$P/$c.pem" "$d/x509/"
      cp "$P/$c.key" "$d/private/"
      chmod 600 "$d/private/$c.key"
      certs+=${certs:+, }$c.pem
    done
    for c in ${!cas}; do cp "$P/$c.pem" "$d/x509ca/"; done
    for c in ${!crls}; do cp "$P/$c" "$d/x509crl/"; done
    cert_conf "${s,}" "certs = $certs" "${!id}" "${!rid}" "cacerts = ${!root}.pem" "${!auth}" "${!rauth}" "${!remote}" >"$d/swanctl.conf"
  done
}

# ---- side A: Oakley, or (PEER_A=strongswan) a second charon reading the same directory ----
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/oakley.ctl"; }
SWA() { swanctl_in "$NA" "$RUN/swa" "$@"; }
# start_a: starts A on $RUN/ok/swanctl.conf (write it first, e.g. with setup) and defines a_load a_up a_sas a_down.
# Prints a FAIL setup line and exits if it does not come up.
start_a() {
  if [[ $PEER_A == oakley ]]; then
    A_NAME=oakley A_LOG=$RUN/oakley.log
    rm -f "$RUN/oakley.ctl"
    ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/ok/swanctl.conf" --control "$RUN/oakley.ctl" >>"$RUN/oakley.log" 2>&1 &
    OAKLEY_PID=$!
    for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
    [[ -S $RUN/oakley.ctl ]] || { echo "FAIL setup: oakley daemon did not start"; tail -20 "$RUN/oakley.log"; exit 1; }
    a_load() { OK load-all; }
    a_up() { OK initiate --child net --timeout "${UP_TIMEOUT:-20}"; }
    a_sas() { OK list-sas; }
    a_down() { OK terminate; }
  else
    A_NAME=strongswan-A A_LOG=$RUN/swa/charon.log
    mkdir -p "$RUN/swa"
    ln -sfn "$RUN/ok" "$RUN/swa/swanctl"
    launch_charon "$NA" "$RUN/swa" || { echo "FAIL setup: charon in A did not start"; cat "$RUN/swa/charon.out"; exit 1; }
    CHARON_A_PID=$CHARON_STARTED
    a_load() { SWA --load-all --clear; }
    a_up() { SWA --initiate --child net --timeout "${UP_TIMEOUT:-20}"; }
    a_sas() { SWA --list-sas; }
    a_down() { SWA --terminate --ike tunnel --timeout 5; }
  fi
}
# stop_a: stops A (a restart with start_a starts with empty caches).
stop_a() {
  if [[ $PEER_A == oakley ]]; then stop_pids "$OAKLEY_PID"; OAKLEY_PID=; else stop_pids "$CHARON_A_PID"; CHARON_A_PID=; fi
}

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
up_from() { if [[ $1 == a ]]; then a_up; else SW --initiate --child net --timeout "${UP_TIMEOUT:-20}"; fi >"$RUN/up.out" 2>&1; }
who() { [[ $1 == a ]] && echo "$A_NAME" || echo strongswan; }
# log offsets, so that a scenario greps only what it caused (a log that was truncated restarts at 0)
mark_logs() {
  MARK_A=$(stat -c %s "$A_LOG" 2>/dev/null || echo 0) MARK_B=$(stat -c %s "$B_LOG" 2>/dev/null || echo 0)
  MARK_TIME=$(date -u +%Y-%m-%dT%H:%M:%SZ) # and the time (UTC, as oakley's JSON writes it)
}
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
log_has_all() { # SIDE WORDS...: that side's log since mark_logs contains each (fixed strings); names the first one missing
  local side=$1 w
  shift
  since "$side" >"$RUN/since.log"
  for w; do grep -qF -- "$w" "$RUN/since.log" || { echo "  $(who "$side")'s log lacks: $w"; return 1; }; done
}
b_log_has_all() { log_has_all b "$@"; }
explain() { # what went wrong, from both logs
  echo "  ESTABLISHED now: $A_NAME $(a_sas 2>/dev/null | grep -c ESTABLISHED), strongswan $(SW --list-sas 2>/dev/null | grep -c ESTABLISHED)"
  echo "  --- $A_NAME (A) log:"; since a | grep -v -E '^\s*$' | tail -15 | sed 's/^/    /'
  echo "  --- strongswan (B) charon.log:"; since b | tail -15 | sed 's/^/    /'
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
# expect_fail NAME CHECKER(a|b) OAKLEY_WORDS STRONGSWAN_WORDS [CHECK]: from each side in turn the negotiation fails, no
# ESTABLISHED SA is left on either side, and the checking side's log names the reason (no words: not checked;
# CHECKER -: either side may refuse). CHECK is an extra command that must succeed.
expect_fail() {
  local name=$1 checker=$2 words s rc said check=${5:-true}
  words=$4
  [[ $checker == a && $PEER_A == oakley ]] && words=$3
  said=
  [[ -n $words ]] && said=", its log says '$words'"
  [[ $checker != - ]] && name+=", $(who "$checker") checks"
  for s in a b; do
    mark_logs
    ! up_from "$s" && sleep 1 && no_sas && { [[ -z $words ]] || log_has "$checker" "$words"; } && $check
    rc=$?
    result "$(who "$s")-initiates $name: no SA$said" $rc
    ((rc)) && explain
    clear_sas
  done
}
