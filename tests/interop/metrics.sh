#!/usr/bin/env bash
# Interop: the Prometheus/OpenMetrics endpoint (oakley daemon --metrics) with Oakley <-> strongSwan 5.9 in namespaces.
# Brings a tunnel up, passes traffic, rekeys, fails one authentication (wrong PSK), scrapes, and checks the scrape
# with promtool and against what happened; checks the shipped Grafana dashboard (jq) and alert rules (promtool), a
# bad --metrics value, and that a daemon without --metrics listens on no TCP port.
# Usage: tests/interop/metrics.sh [path to oakley.dll, or the native oakley]. Needs root, strongSwan, curl, jq, promtool.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ROOT=$INTEROP_ROOT
ID=$$
NA=oakmA$ID
NB=oakmB$ID
NC=oakmC$ID
RUN=$(mktemp -d /tmp/oakley-metrics.XXXXXX)
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NB" "$NC"
need_tools ip /usr/lib/ipsec/charon swanctl curl jq promtool ss ping
[[ $OAKLEY_DLL == *.dll ]] && need_tools dotnet

# ---- the shipped dashboard and alert rules ----
jq -e '.panels | length > 0' "$ROOT/packaging/grafana/oakley-dashboard.json" >/dev/null 2>&1
result "packaging/grafana/oakley-dashboard.json is valid JSON with panels (jq)" $?
promtool check rules "$ROOT/packaging/prometheus/oakley-alerts.yml" >"$RUN/rules.out" 2>&1
rc=$?; [[ $rc -ne 0 ]] && cat "$RUN/rules.out"
result "packaging/prometheus/oakley-alerts.yml passes promtool check rules" $rc

# ---- a bad --metrics value is a startup error naming the option ----
out=$("${OAKLEY[@]}" daemon --config /nonexistent --control "$RUN/bad.ctl" --metrics localhost:9101 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"--metrics"* ]]
result "--metrics localhost:9101 is refused at start, naming --metrics (exit $rc)" $?
out=$("${OAKLEY[@]}" daemon --config /nonexistent --control "$RUN/bad.ctl" --metrics 2001:db8::1:9101 2>&1); rc=$?
[[ $rc -ne 0 && $out == *"--metrics"* && $out == *brackets* ]]
result "--metrics with an IPv6 address without brackets is refused, saying so" $?

# ---- topology and strongSwan in B: "tunnel" (right PSK) and "bad" (Oakley has the wrong PSK for it) ----
make_pair "$NA" "$NB" "vmA$ID" "vmB$ID" || setup_fail "cannot create namespaces"
ip netns add "$NC" && ip -n "$NC" link set lo up && ip -n "$NC" addr add 192.0.2.3/32 dev lo
conn() { # name local remote localid remoteid ts-local ts-remote
  cat <<CONF
  $1 {
    version = 2
    local_addrs = $2
    remote_addrs = $3
    proposals = aes256gcm16-prfsha256-x25519
    rekey_time = 1h
    local {
      auth = psk
      id = $4
    }
    remote {
      auth = psk
      id = $5
    }
    children {
      net {
        local_ts = $6
        remote_ts = $7
        esp_proposals = aes256gcm16
        rekey_time = 30m
      }
    }
  }
CONF
}
# secrets PSK_OF_BAD: the secrets of both files; the connection "bad" gets PSK_OF_BAD (strongSwan has the right one).
secrets() {
  cat <<CONF
secrets {
  ike-1 {
    id-a = a.example
    id-b = b.example
    secret = "metrics-test-psk-not-secret"
  }
  ike-2 {
    id-a = bad-a.example
    id-b = bad-b.example
    secret = "$1"
  }
}
CONF
}
mkdir -p "$RUN/sw/swanctl"
{ echo "connections {"; conn tunnel 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.0/24 198.51.100.0/24
  conn bad 192.0.2.2 192.0.2.1 bad-b.example bad-a.example 203.0.113.0/24 198.51.100.0/24; echo "}"
  secrets the-right-psk-not-secret
} >"$RUN/sw/swanctl/swanctl.conf"
launch_charon "$NB" "$RUN/sw" || setup_fail "charon did not start" "$RUN/sw/charon.out"
on_exit_pid "$CHARON_STARTED"
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/load.out" 2>&1 || setup_fail "swanctl --load-all" "$RUN/load.out"

{ echo "connections {"; conn tunnel 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.0/24 203.0.113.0/24
  conn bad 192.0.2.1 192.0.2.2 bad-a.example bad-b.example 198.51.100.0/24 203.0.113.0/24; echo "}"
  secrets a-wrong-psk-not-secret
} >"$RUN/oakley.conf"
ip netns exec "$NA" "${OAKLEY[@]}" daemon --config "$RUN/oakley.conf" --control "$RUN/oakley.ctl" --metrics 192.0.2.1:9101 >"$RUN/oakley.log" 2>&1 &
OAKLEY_PID=$!
on_exit_pid "$OAKLEY_PID"
for _ in $(seq 300); do grep -q "oakley daemon listening" "$RUN/oakley.log" 2>/dev/null && break; sleep 0.1; done
OK() { ip netns exec "$NA" "${OAKLEY[@]}" "$@" --control "$RUN/oakley.ctl"; }
scrape() { ip netns exec "$NA" curl -s -m 10 "$@" http://192.0.2.1:9101/metrics; }
value() { # the value of one series line (exact name{labels}), 0 if absent
  awk -v s="$1" 'index($0, s " ") == 1 {print $2; found=1} END {if (!found) print 0}' "$RUN/scrape.txt" | head -1
}
gt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 > b + 0)}'; }

# ---- a daemon without --metrics: no TCP listener at all ----
ip netns exec "$NC" "${OAKLEY[@]}" daemon --config "$RUN/oakley.conf" --control "$RUN/plain.ctl" --tun oakplain0 >"$RUN/plain.log" 2>&1 &
PLAIN_PID=$!
on_exit_pid "$PLAIN_PID"
for _ in $(seq 150); do [[ -S $RUN/plain.ctl ]] && break; sleep 0.1; done
sleep 1
listeners=$(ip netns exec "$NC" ss -Htln 2>/dev/null | wc -l)
kill -0 "$PLAIN_PID" 2>/dev/null && [[ $listeners -eq 0 ]]
result "a daemon without --metrics listens on no TCP port (found $listeners)" $?
kill -TERM "$PLAIN_PID" 2>/dev/null; wait "$PLAIN_PID" 2>/dev/null; forget_pid "$PLAIN_PID"
# ... and one with an IPv6 --metrics address answers there
ip -n "$NC" addr add 2001:db8::3/128 dev lo nodad
rm -f "$RUN/plain.ctl"
ip netns exec "$NC" "${OAKLEY[@]}" daemon --config "$RUN/oakley.conf" --control "$RUN/plain.ctl" --tun oakplain0 --metrics "[2001:db8::3]:9101" >"$RUN/plain6.log" 2>&1 &
PLAIN_PID=$!
on_exit_pid "$PLAIN_PID"
for _ in $(seq 300); do grep -q "metrics on" "$RUN/plain6.log" 2>/dev/null && break; sleep 0.1; done # listens after the control socket
code=$(ip netns exec "$NC" curl -g -s -o "$RUN/scrape6.txt" -w '%{http_code}' -m 10 "http://[2001:db8::3]:9101/metrics")
[[ $code == 200 ]] && grep -q '^oakley_ike_sas_half_open 0' "$RUN/scrape6.txt"
rc=$?; [[ $rc -ne 0 ]] && { echo "http $code"; tail -5 "$RUN/plain6.log"; }
result "--metrics [2001:db8::3]:9101 serves the metrics over IPv6" $rc
kill -TERM "$PLAIN_PID" 2>/dev/null; wait "$PLAIN_PID" 2>/dev/null; forget_pid "$PLAIN_PID"
tcp=$(ip netns exec "$NA" ss -Htln 2>/dev/null)
[[ $(wc -l <<<"$tcp") -eq 1 && $tcp == *"192.0.2.1:9101"* ]]
result "the daemon with --metrics 192.0.2.1:9101 listens there and on no other TCP port" $?

# ---- tunnel, traffic, rekey, one failed authentication ----
OK initiate --child net --ike tunnel --timeout 20 >"$RUN/up.out" 2>&1
result "the tunnel comes up (Oakley initiates)" $?
ip netns exec "$NA" ping -c 5 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping.out" 2>&1
result "ping through the CHILD SA" $?
OK rekey --child net >"$RUN/rekey.out" 2>&1
for _ in $(seq 50); do grep -q "rekeyed\|CHILD_SA net{[0-9]*} established" "$RUN/sw/charon.log" 2>/dev/null && break; sleep 0.2; done
sleep 2
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >>"$RUN/ping.out" 2>&1
OK initiate --child net --ike bad --timeout 15 >"$RUN/bad.out" 2>&1
[[ $? -ne 0 ]]
result "the connection with the wrong PSK does not come up" $?
sleep 1

# ---- the scrape ----
scrape -D "$RUN/headers.txt" >"$RUN/scrape.txt"
rc=$?
[[ $rc -eq 0 && -s $RUN/scrape.txt ]] && grep -qi "^content-type: text/plain; version=0.0.4" "$RUN/headers.txt"
result "GET /metrics answers in the Prometheus text format" $?
promtool check metrics <"$RUN/scrape.txt" >"$RUN/promtool.out" 2>&1
rc=$?; [[ $rc -ne 0 ]] && head -20 "$RUN/promtool.out"
result "promtool check metrics passes the scrape" $rc
[[ -n ${VERBOSE:-} ]] && cat "$RUN/scrape.txt"
[[ $(value 'oakley_ike_sas{connection="tunnel",state="ESTABLISHED"}') == 1 ]] && [[ $(value 'oakley_child_sas{connection="tunnel",child="net"}') == 1 ]]
result "the gauges show the IKE SA (ESTABLISHED) and its CHILD SA" $?
gt "$(value 'oakley_ike_failures_total{connection="bad",reason="authentication_failed"}')" 0 \
  && gt "$(value 'oakley_ike_error_notifies_total{notify="AUTHENTICATION_FAILED",direction="received"}')" 0
result "the wrong PSK counted: failures{reason=authentication_failed} and AUTHENTICATION_FAILED received" $?
gt "$(value 'oakley_esp_bytes_total{direction="in"}')" 0 && gt "$(value 'oakley_esp_bytes_total{direction="out"}')" 0 \
  && grep -qE '^oakley_child_sa_bytes_total\{connection="tunnel",child="net",spi="[0-9a-f]{8}",direction="out"\} [1-9]' "$RUN/scrape.txt"
result "ESP byte counters rose (all CHILD SAs and the CHILD SA's own series)" $?
gt "$(value 'oakley_ike_handshake_seconds_count{role="initiator"}')" 0
result "the handshake histogram has a sample" $?
gt "$(value 'oakley_rekeys_total{sa="child",role="any"}')" 0
result "the CHILD rekey is counted" $?
gt "$(value 'oakley_ike_messages_total{exchange="IKE_SA_INIT",direction="out",message="request"}')" 1 \
  && gt "$(value 'oakley_ike_exchanges_total{exchange="IKE_AUTH",role="initiator",result="success"}')" 0 \
  && gt "$(value 'oakley_ike_exchanges_total{exchange="IKE_AUTH",role="initiator",result="AUTHENTICATION_FAILED"}')" 0
result "message and exchange counters: 2 IKE_SA_INIT requests, one IKE_AUTH success and one AUTHENTICATION_FAILED" $?
scrape -H "Accept: application/openmetrics-text; version=1.0.0" -D "$RUN/om-headers.txt" >"$RUN/om.txt"
grep -qi "^content-type: application/openmetrics-text" "$RUN/om-headers.txt" && [[ $(tail -1 "$RUN/om.txt") == "# EOF" ]]
result "a scraper asking for OpenMetrics gets it (# EOF)" $?
code=$(ip netns exec "$NA" curl -s -o /dev/null -w '%{http_code}' -m 5 http://192.0.2.1:9101/nothing)
[[ $code == 404 ]]
result "another path is 404" $?
kill -0 "$OAKLEY_PID" 2>/dev/null
result "the daemon still runs after the scrapes" $?

[[ $failures -eq 0 ]] || { echo "--- oakley.log"; tail -30 "$RUN/oakley.log"; }
exit $((failures > 0))
