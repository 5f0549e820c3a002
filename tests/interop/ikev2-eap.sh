#!/usr/bin/env bash
# Interop: remote access between Oakley and strongSwan 5.9 (charon + kernel-libipsec) in two network namespaces. The
# gateway authenticates with a certificate (P-256, through an intermediate), the client with EAP; the gateway hands
# out a virtual IPv4 and IPv6 address from its pools with DNS servers, and a ping goes through the tunnel from the
# virtual IP. Both roles: strongSwan client -> Oakley gateway, and Oakley client -> strongSwan gateway.
# Usage: tests/interop/ikev2-eap.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, strongSwan with
# its eap-mschapv2 plugin (libcharon-extauth-plugins) and pki (test.sh installs them). Prints one PASS/FAIL line per
# scenario and exits non-zero if any failed. KEEP=1 keeps $RUN.
#
# What strongSwan 5.9.8 logs (level 1) that the checks read:
# - client: "installing new virtual IP 203.0.113.65", "installing new virtual IP 2001:db8:ee::1", and, as this charon
#   loads no resolve plugin, "handling INTERNAL_IP4_DNS attribute failed" for each DNS server the gateway sent.
# - client: "authentication of 'a.example' with ECDSA_WITH_SHA256_DER successful" (the gateway's certificate), and
#   "EAP method EAP_MSCHAPV2 succeeded, MSK established" (EAP_MD5: "no MSK established").
# - gateway: "assigning virtual IP 203.0.113.65 to peer 'carol'", "with EAP successful".
set -uo pipefail
OAKLEY_DLL=${1:-$(cd "$(dirname "$0")/../.." && pwd)/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
PEER_A=oakley
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cert-lib.bash"
source "$(dirname "$0")/radius-lib.bash"

ID=$$
NA=oakA$ID
NB=oakB$ID
RUN=$(mktemp -d /tmp/oakley-eap.XXXXXX)
P=$RUN/pki
CHARON_PID= CHARON_A_PID= OAKLEY_PID=
failures=0
trap cleanup EXIT
check_tools
[[ -f /usr/lib/ipsec/plugins/libstrongswan-eap-mschapv2.so ]] || { echo "FAIL setup: strongSwan's eap-mschapv2 plugin is missing (libcharon-extauth-plugins)"; exit 1; }

# ---- PKI: root -> intermediates -> a.example (A) and b.example (B) ----
mkdir -p "$P"
make_root p256 root "Root CA" && make_cert p256 inta root "Intermediate A" --ca --pathlen 0 --lifetime 30 \
  && make_cert p256 intb root "Intermediate B" --ca --pathlen 0 --lifetime 30 \
  && make_ee p256 a inta a && make_ee p256 b intb b || { echo "FAIL setup: pki"; cat "$P/pki.err"; exit 1; }

# ---- topology; A also has an inner IPv6 host ----
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || { echo "FAIL setup: cannot create namespaces"; exit 1; }
ip -n "$NA" addr add 2001:db8:51::1/128 dev lo
ip -n "$NB" addr add 2001:db8:52::1/128 dev lo

creds() { # SIDE: the side's certificate, key and CAs
  local s=$1 d
  d=$(side_dir "$s")
  fresh_dirs "$d"
  cp "$P/$s.pem" "$d/x509/"; cp "$P/$s.key" "$d/private/"; chmod 600 "$d/private/$s.key"
  cp "$P/root.pem" "$P/int$s.pem" "$d/x509ca/"
}
# gateway_conf SIDE METHOD [POOLS]: the gateway's swanctl.conf: certificate auth of its own, remote auth = METHOD with
# eap_id = %any, pools rw4 (203.0.113.64/28, dns 198.51.100.53) and rw6 (2001:db8:ee::/120, dns 2001:db8::53), or POOLS.
gateway_conf() {
  local la=192.0.2.1 lts="198.51.100.0/24, 2001:db8:51::/64" id=a.example
  [[ $1 == b ]] && la=192.0.2.2 lts="203.0.113.0/28, 2001:db8:52::/64" id=b.example
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $la
    pools = ${3:-rw4, rw6}
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = ${GATEWAY_AUTH:-pubkey}
      certs = $1.pem
      id = $id
    }
$(if [[ -n ${MULTI:-} ]]; then printf '    remote {\n      auth = pubkey\n    }\n    remote-2 {\n'; else echo "    remote {"; fi)
      auth = $2
      eap_id = %any
    }
    children {
      net {
        local_ts = $lts
        esp_proposals = aes256gcm16
      }
    }
  }
}
pools {
  rw4 {
    addrs = 203.0.113.64/28
    dns = 198.51.100.53
  }
  rw6 {
    addrs = 2001:db8:ee::/120
    dns = 2001:db8::53
  }
}
secrets {
  eap-carol {
    id = carol
    secret = "carol's password"
  }
}
CONF
}
# client_conf SIDE METHOD PASSWORD: the client's swanctl.conf: vips 0.0.0.0 and ::, local auth = METHOD as carol. With
# METHOD eap-tls the client is its certificate's name (SIDE.example, certs = SIDE.pem) instead; CLIENT_RAUTH (default
# pubkey) is how it expects the gateway to authenticate (eap: EAP-only, RFC 5998).
client_conf() {
  local la=192.0.2.1 ra=192.0.2.2 rts="203.0.113.0/28, 2001:db8:52::/64" rid=b.example
  [[ $1 == b ]] && la=192.0.2.2 ra=192.0.2.1 rts="198.51.100.0/24, 2001:db8:51::/64" rid=a.example
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $la
    remote_addrs = $ra
    vips = 0.0.0.0, ::
    proposals = aes256gcm16-prfsha256-x25519
$(if [[ -n ${MULTI:-} ]]; then printf '    local {\n      auth = pubkey\n      certs = %s.pem\n      id = %s.example\n    }\n    local-2 {\n' "$1" "$1"; else echo "    local {"; fi)
      auth = $2
$(if [[ $2 == eap-tls ]]; then echo "      certs = $1.pem"; echo "      id = $1.example"; else echo "      eap_id = carol"; fi)
    }
    remote {
      auth = ${CLIENT_RAUTH:-pubkey}
      id = $rid
    }
    children {
      net {
        remote_ts = $rts
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  eap-carol {
    id = carol
    secret = "$3"
  }
}
CONF
}
# roles GATEWAY METHOD [CLIENT_PASSWORD] [CLIENT_METHOD] [GATEWAY_POOLS]: writes both sides' files and reloads them.
roles() {
  local gw=$1 client=a
  [[ $gw == a ]] && client=b
  creds a; creds b
  gateway_conf "$gw" "$2" "${5:-}" >"$(side_dir "$gw")/swanctl.conf"
  client_conf "$client" "${4:-$2}" "${3:-carol\'s password}" >"$(side_dir "$client")/swanctl.conf"
  reload
}

# FreeRADIUS in A's namespace, on its loopback: carol (password "carol-radius") gets Framed-IP-Address 203.0.113.70
R=$RUN/radius
R_SECRET=oakley-eap-$ID R_AUTH=$((20000 + ($ID % 20000) * 2))
R_ACCT=$((R_AUTH + 1))
freeradius_conf "$R" "$R_SECRET" "$R_AUTH" "$R_ACCT" mschapv2
cat >"$R/users" <<'USERS'
carol   Cleartext-Password := "carol-radius"
        Framed-IP-Address = 203.0.113.70
USERS
start_freeradius "$R" "$NA" || { echo "FAIL setup: freeradius did not start"; tail -30 "$R/radiusd.out"; exit 1; }
SERVER_PIDS=$RADIUSD_STARTED

# the Oakley daemon's settings: DNS goes to $RUN/resolv.conf (charon.plugins.resolve.file), not /etc; eap-radius
# relays to the FreeRADIUS above, with accounting
cat >"$RUN/oakley.conf" <<CONF
charon {
  plugins {
    resolve {
      file = $RUN/resolv.conf
    }
    eap-radius {
      accounting = yes
      servers {
        freeradius {
          address = 127.0.0.1
          secret = $R_SECRET
          auth_port = $R_AUTH
          acct_port = $R_ACCT
        }
      }
    }
  }
}
CONF
: >"$RUN/resolv.conf"
creds a; creds b
gateway_conf a eap-mschapv2 >"$RUN/ok/swanctl.conf"
launch_charon "$NB" "$RUN/sw" || { echo "FAIL setup: charon in B did not start"; cat "$RUN/sw/charon.out"; exit 1; }
CHARON_PID=$CHARON_STARTED
B_LOG=$RUN/sw/charon.log
A_NAME=oakley A_LOG=$RUN/oakley.log
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/ok/swanctl.conf" --control "$RUN/oakley.ctl" --settings "$RUN/oakley.conf" >>"$A_LOG" 2>&1 &
OAKLEY_PID=$!
for _ in $(seq 100); do [[ -S $RUN/oakley.ctl ]] && break; sleep 0.1; done
[[ -S $RUN/oakley.ctl ]] || { echo "FAIL setup: oakley daemon did not start"; tail -20 "$A_LOG"; exit 1; }
a_load() { OK load-all; }
a_sas() { OK list-sas; }
a_down() { OK terminate; }

vip_of_b() { SW --list-sas 2>/dev/null | sed -n 's/.*local  *\(203\.0\.113\.[0-9]*\)\/32.*/\1/p' | head -1; }
# b_client_up NAME METHOD_WORDS [VIP4] [DNS4_WORDS]: B initiates to Oakley; both up, B got VIP4 (203.0.113.65) and
# VIP6 (2001:db8:ee::1) and the DNS attributes, A authenticated with GW_AUTH (ECDSA_WITH_SHA256_DER), and B pings A's
# inner hosts from its virtual IPs.
b_client_up() {
  local name=$1 words=$2 vip=${3:-203.0.113.65} dns4=${4-handling INTERNAL_IP4_DNS attribute failed} rc
  local vip6=${VIP6:-2001:db8:ee::1} gw_auth=${GW_AUTH:-ECDSA_WITH_SHA256_DER}
  mark_logs
  SW --initiate --child net --timeout 20 >"$RUN/up.out" 2>&1 && both_up \
    && log_has_all b "installing new virtual IP $vip" "installing new virtual IP $vip6" \
      ${dns4:+"$dns4"} "handling INTERNAL_IP6_DNS attribute failed" \
      "authentication of 'a.example' with $gw_auth successful" "$words" \
    && ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I "$vip" 198.51.100.1 >"$RUN/ping.out" 2>&1 \
    && ip netns exec "$NB" ping -6 -c 3 -i 0.2 -W 2 -I "$vip6" 2001:db8:51::1 >>"$RUN/ping.out" 2>&1 \
    && { [[ $vip != 203.0.113.65 ]] || log_has_all a "assigning virtual IP 203.0.113.65, 2001:db8:ee::1 to peer 'carol'"; } \
    && { [[ $vip != 203.0.113.65 ]] || { OK list-pools --leases >"$RUN/pools.out" 2>&1 && grep -q "203.0.113.65.*online.*carol" "$RUN/pools.out" && OK list-sas >"$RUN/sas.out" 2>&1 && grep -qF "EAP: 'carol' [203.0.113.65 2001:db8:ee::1]" "$RUN/sas.out"; }; }
  rc=$?
  result "strongswan client -> oakley gateway, $name: virtual IPv4+IPv6 with DNS, ping from the virtual IPs$([[ $vip != 203.0.113.65 ]] || echo ", lease of 'carol' online")" $rc
  ((rc)) && { explain; cat "$RUN/pools.out" 2>/dev/null | sed 's/^/    /'; }
  clear_sas
}
wait_for() { local _; for _ in $(seq 30); do "$@" && return 0; sleep 0.1; done; return 1; } # up to 3 s (DNS is set off the engine thread)
# a_client_up NAME: Oakley initiates to strongSwan; its TUN device holds the virtual IPs, resolv.conf the DNS servers,
# pings go from the virtual IPs; after terminate, the address and the DNS servers are gone.
a_client_up() {
  local name=$1 rc addrs vip=${VIP4:-203.0.113.65} vip6=${VIP6:-2001:db8:ee::1} lessee=${LESSEE:-carol}
  mark_logs
  OK initiate --child net --timeout 20 >"$RUN/up.out" 2>&1 && both_up \
    && addrs=$(ip -n "$NA" addr show) && grep -q "inet $vip/32" <<<"$addrs" && grep -q "inet6 $vip6/128" <<<"$addrs" \
    && wait_for grep -q "nameserver 2001:db8::53" "$RUN/resolv.conf" && grep -q "nameserver 198.51.100.53" "$RUN/resolv.conf" \
    && log_has_all b "assigning virtual IP $vip to peer '$lessee'" "with EAP successful" \
    && ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I "$vip" 203.0.113.1 >"$RUN/ping.out" 2>&1 \
    && ip netns exec "$NA" ping -6 -c 3 -i 0.2 -W 2 -I "$vip6" 2001:db8:52::1 >>"$RUN/ping.out" 2>&1
  rc=$?
  local up_rc=$rc
  clear_sas
  sleep 0.5
  if ((rc == 0)); then
    wait_for sh -c "! grep -q 198.51.100.53 '$RUN/resolv.conf'" && addrs=$(ip -n "$NA" addr show) && ! grep -q "$vip" <<<"$addrs"
    rc=$?
  fi
  ((rc)) && echo "  (failed at step: $( ((up_rc)) && echo 'up, addresses, DNS, gateway log or ping' || echo 'removal at terminate'))"
  result "oakley client -> strongswan gateway, $name: virtual IPv4+IPv6 on the TUN device, DNS in resolv.conf, ping from the virtual IPs; all removed at terminate" $rc
  ((rc)) && { explain; ip -n "$NA" addr show | sed 's/^/    /'; sed 's/^/    resolv.conf: /' "$RUN/resolv.conf"; cat "$RUN/ping.out" | tail -3; }
}
# fails NAME SIDE WORDS INITIATOR(a|b): the initiation fails, no SA is left, and SIDE's log says WORDS.
fails() {
  local rc
  mark_logs
  if [[ $4 == a ]]; then OK initiate --child net --timeout 15; else SW --initiate --child net --timeout 15; fi >"$RUN/up.out" 2>&1
  sleep 1
  no_sas && log_has "$2" "$3"
  rc=$?
  result "$1: no SA, $(who "$2")'s log says '$3'" $rc
  ((rc)) && explain
  clear_sas
}

# ---- strongSwan client -> Oakley gateway ----
roles a eap-mschapv2
b_client_up "EAP-MSCHAPv2" "EAP method EAP_MSCHAPV2 succeeded, MSK established"
# the lease and the SA survive load-all, also when the pool shrinks below the leased address (strongSwan's rule)
mark_logs
SW --initiate --child net --timeout 20 >"$RUN/up.out" 2>&1 && both_up \
  && sed -i 's#addrs = 203.0.113.64/28#addrs = 203.0.113.64/31#' "$RUN/ok/swanctl.conf" && OK load-all >"$RUN/load.out" 2>&1 \
  && OK list-pools --leases >"$RUN/pools.out" 2>&1 && grep -q "203.0.113.65.*online.*carol" "$RUN/pools.out" \
  && both_up && ip netns exec "$NB" ping -c 2 -i 0.2 -W 2 -I 203.0.113.65 198.51.100.1 >"$RUN/ping.out" 2>&1
rc=$?
result "load-all with the pool shrunk to 203.0.113.64/31: carol's SA and lease 203.0.113.65 stay online, ping still passes" $rc
((rc)) && { explain; sed 's/^/    /' "$RUN/pools.out" "$RUN/load.out" 2>/dev/null; }
clear_sas
roles a eap-md5
b_client_up "EAP-MD5 (named on both sides)" "EAP method EAP_MD5 succeeded, no MSK established"
roles a eap-mschapv2 "not carol's password"
fails "strongswan client with a wrong EAP-MSCHAPv2 password (it answers E=691 with AUTHENTICATION_FAILED)" a "reported AUTHENTICATION_FAILED" b
roles a eap-mschapv2 "carol's password" eap-md5
fails "strongswan client insisting on EAP-MD5 against an EAP-MSCHAPv2 gateway (Nak)" a "the client refused EAP-MSCHAPV2 and asked for EAP-MD5" b

# ---- strongSwan client -> Oakley gateway -> FreeRADIUS: EAP-MSCHAPv2 relayed, the MSK from the MPPE keys, the IPv4
# address from Framed-IP-Address (pools = radius), accounting Start and Stop with the tunnel's byte counts ----
roles a eap-radius "carol-radius" eap-mschapv2 "radius, rw6"
b_client_up "EAP-MSCHAPv2 relayed to FreeRADIUS (eap-radius, pools = radius)" "EAP method EAP_MSCHAPV2 succeeded, MSK established" 203.0.113.70 ""
sleep 1
detail=$R/acct/detail
grep -q 'Acct-Status-Type = Start' "$detail" 2>/dev/null && grep -q 'Acct-Status-Type = Stop' "$detail" \
  && grep -q 'User-Name = "carol"' "$detail" && grep -q 'Framed-IP-Address = 203.0.113.70' "$detail" \
  && awk '/Acct-Status-Type = Stop/ {s=1} s && /Acct-Output-Octets = / {if ($3 > 0) ok=1} END {exit !ok}' "$detail"
rc=$?
result "FreeRADIUS accounting: Start and Stop for carol with Framed-IP-Address 203.0.113.70 and the tunnel's octets" $rc
((rc)) && { sed 's/^/    /' "$detail" 2>/dev/null | tail -40; tail -20 "$R/radiusd.out"; }
roles a eap-radius "not carol's password" eap-mschapv2 "radius, rw6"
fails "strongswan client with a wrong password, relayed to FreeRADIUS" a "RADIUS authentication of 'carol' failed" b

# ---- EAP-TLS (strongSwan 5.9.8 offers TLS 1.2 at most): the client's certificate b.example; then EAP-only, where the
# gateway sends no AUTH of its own before EAP (local auth = eap) and the EAP-TLS MSK authenticates it. The lease goes
# to the certificate's identity, not carol (whose offline lease keeps .65/::1): b.example gets .66/::2 both times.
roles a eap-tls
VIP6=2001:db8:ee::2 b_client_up "EAP-TLS with the client certificate b.example" "EAP method EAP_TLS succeeded, MSK established" 203.0.113.66
GATEWAY_AUTH=eap CLIENT_RAUTH=eap roles a eap-tls
VIP6=2001:db8:ee::2 GW_AUTH=EAP b_client_up "EAP-only (RFC 5998) with EAP-TLS: no gateway AUTH before EAP" \
  "EAP method EAP_TLS succeeded, MSK established" 203.0.113.66

# ---- multiple authentication rounds (RFC 4739): the client's certificate first, then carol with EAP-MSCHAPv2 ----
MULTI=1 roles a eap-mschapv2
b_client_up "certificate b.example, then EAP-MSCHAPv2 as carol (local-2/remote-2, RFC 4739)" "EAP method EAP_MSCHAPV2 succeeded, MSK established"

# ---- Oakley client -> strongSwan gateway ----
roles b eap-mschapv2
a_client_up "EAP-MSCHAPv2"
roles b eap-md5
a_client_up "EAP-MD5 (named on both sides)"
# EAP-TLS: strongSwan leases to a.example (carol's offline lease keeps .65/::1)
roles b eap-tls
VIP4=203.0.113.66 VIP6=2001:db8:ee::2 LESSEE=a.example a_client_up "EAP-TLS with the client certificate a.example"
GATEWAY_AUTH=eap CLIENT_RAUTH=eap roles b eap-tls
VIP4=203.0.113.66 VIP6=2001:db8:ee::2 LESSEE=a.example a_client_up "EAP-only (RFC 5998) with EAP-TLS"
MULTI=1 roles b eap-mschapv2
a_client_up "certificate a.example, then EAP-MSCHAPv2 as carol (local-2/remote-2, RFC 4739)"
roles b eap-mschapv2 "not carol's password"
fails "oakley client with a wrong EAP-MSCHAPv2 password" b "EAP method EAP_MSCHAPV2 failed for peer" a

if ((failures > 0)); then
  echo "--- oakley log (A)"; tail -40 "$A_LOG"
  echo "--- charon.log (B)"; tail -60 "$B_LOG"
fi
exit $((failures > 0))
