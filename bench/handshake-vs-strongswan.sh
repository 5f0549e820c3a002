#!/bin/bash
# The responder under strongSwan's load-tester (issue 14's measurement). strongSwan 5.9.8's load-tester plugin initiates
# COUNT IKE SAs (one CHILD SA each; PSK, aes128gcm16-prfsha256-x25519, ESP aes128gcm16) from namespace I, pinned to CPU 0;
# the responder in namespace R, pinned to CPU 1, is strongSwan's charon (kernel-libipsec) or the Oakley daemon (--tun),
# alternating for ROUNDS rounds, each after a WARMUP-SA warm-up. Printed per round and responder: responder CPU per IKE
# SA (utime+stime of the responder process over the batch), IKE SAs/s for the batch, RSS growth per SA, idle RSS.
# Usage: bench/handshake-vs-strongswan.sh [oakley.dll]   (root; COUNT=2000 WARMUP=300 ROUNDS=3 by default;
#   RESPONDERS="oakley" to measure one; "oakley-ops" is the daemon with --metrics, scraped every second, and a
#   swanctl --log VICI subscriber (RESPONDERS="oakley oakley-ops" for the cost of operating it); OAKLEY_WRAP="strace -c -f -o /tmp/x" to run the daemon under a profiler;
#   STATS=1 prints the daemon's counters after each batch; IDLE=S measures the responder's idle CPU for S seconds while
#   it holds every SA, then times one full SA listing; DPD=30s sets both responders' dpd_delay (none by default);
#   WAIT bounds each wait in seconds (300); AUTH=rsa3072 (or rsa2048) authenticates both ways with certificates instead
#   of the PSK: a CA made here with strongSwan's pki, whose key the load-tester signs each initiator's certificate (made
#   on the fly, a new one per IKE SA) and its AUTH with, as in its own design; the responders hold a certificate for
#   srv.example from that CA. The scale figures: a
#   WARMUP of N SAs held, then a COUNT=1000 batch costs "one more handshake at N SAs")
# Builds the load-tester first if it is missing (bench/build-strongswan-load-tester.sh). Only 192.0.2.0/24 inside
# namespaces it creates and deletes itself; every wait is bounded.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OAKLEY_DLL=${1:-$HERE/../src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
# The daemon: a framework-dependent oakley.dll (run by dotnet) or a native executable (the NativeAOT publish).
[[ $OAKLEY_DLL == *.dll ]] && OAKLEY=(dotnet "$OAKLEY_DLL") || OAKLEY=("$OAKLEY_DLL")
COUNT=${COUNT:-2000}; WARMUP=${WARMUP:-300}; ROUNDS=${ROUNDS:-3}; LIMIT=${LIMIT:-300}
PIN=${PIN:-1} # the responder's CPUs (taskset -c); PIN=0,1 leaves it free to use both
LT_PREFIX=${LT_PREFIX:-/opt/strongswan-lt}; LT_CHARON=$LT_PREFIX/libexec/ipsec/charon
[[ $EUID -eq 0 ]] || { echo "needs root"; exit 1; }
[[ -x $LT_CHARON ]] || bash "$HERE/build-strongswan-load-tester.sh" || exit 1
[[ -f $OAKLEY_DLL ]] || { echo "no $OAKLEY_DLL (dotnet build -c Release first)"; exit 1; }
NI=ltI$$; NR=ltR$$; RUN=$(mktemp -d /tmp/oakley-lt.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}" $(ip netns pids "$NI" 2>/dev/null) $(ip netns pids "$NR" 2>/dev/null); do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${PIDS[@]}" $(ip netns pids "$NI" 2>/dev/null) $(ip netns pids "$NR" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$NI" 2>/dev/null; ip netns del "$NR" 2>/dev/null; [[ -n ${KEEP:-} ]] && cp -r "$RUN" "$KEEP"; rm -rf "$RUN"
}
trap cleanup EXIT
ip netns add "$NI" && ip netns add "$NR" || exit 1
ip link add "lti$$" type veth peer name "ltr$$"
ip link set "lti$$" netns "$NI"; ip link set "ltr$$" netns "$NR"
ip -n "$NI" link set lo up; ip -n "$NR" link set lo up
ip -n "$NI" addr add 192.0.2.1/24 dev "lti$$"; ip -n "$NR" addr add 192.0.2.2/24 dev "ltr$$"
ip -n "$NI" link set "lti$$" up; ip -n "$NR" link set "ltr$$" up
# The CHILD SAs are 203.0.113.0/24 (responder) === 198.51.100.0/24 (initiator); the responder holds an address of its
# side, which its route towards the tunnel takes as source (without one, charon refuses every CHILD SA).
ip -n "$NR" addr add 203.0.113.1/32 dev lo

# The responders' common swanctl.conf: any initiator identity, one PSK for all (the load-tester's default-psk), or with
# AUTH=rsaN certificates from the CA made here.
mkdir -p "$RUN/sw/swanctl" "$RUN/sw/run" "$RUN/lt/run" "$RUN/ok"
AUTH=${AUTH:-psk}
if [[ $AUTH == rsa* ]]; then
  command -v pki >/dev/null || { echo "AUTH=$AUTH needs strongSwan's pki (apt-get install strongswan-pki)"; exit 1; }
  mkdir -p "$RUN/pki" "$RUN/sw/swanctl/x509ca" "$RUN/sw/swanctl/x509" "$RUN/sw/swanctl/private"
  pki --gen --type rsa --size "${AUTH#rsa}" --outform pem >"$RUN/pki/ca.key"
  pki --self --ca --in "$RUN/pki/ca.key" --dn "C=CH, O=Oakley Bench, CN=Load Test CA" --outform pem >"$RUN/pki/ca.pem"
  pki --pub --in "$RUN/pki/ca.key" | pki --issue --cacert "$RUN/pki/ca.pem" --cakey "$RUN/pki/ca.key" --dn "CN=srv.example" --san srv.example \
    --digest sha256 --outform pem >"$RUN/pki/srv.pem"
  cp "$RUN/pki/ca.pem" "$RUN/sw/swanctl/x509ca/"; cp "$RUN/pki/srv.pem" "$RUN/sw/swanctl/x509/"
  cp "$RUN/pki/ca.key" "$RUN/sw/swanctl/private/srv.key"; chmod 600 "$RUN/sw/swanctl/private/srv.key"
  LOCAL_AUTH=$'auth = pubkey\n      certs = srv.pem'; REMOTE_AUTH="auth = pubkey"
else
  LOCAL_AUTH="auth = psk"; REMOTE_AUTH="auth = psk"
fi
cat >"$RUN/sw/swanctl/swanctl.conf" <<CONF
connections {
  lt {
    version = 2
    local_addrs = 192.0.2.2
    proposals = aes128gcm16-prfsha256-x25519
    unique = never
    dpd_delay = ${DPD:-0s}
    local {
      $LOCAL_AUTH
      id = srv.example
    }
    remote {
      $REMOTE_AUTH
    }
    children {
      net {
        esp_proposals = aes128gcm16
        local_ts = 203.0.113.0/24
        remote_ts = 198.51.100.0/24
      }
    }
  }
}
secrets {
  ike-lt {
    secret = default-psk
  }
}
CONF
cp -r "$RUN/sw/swanctl/." "$RUN/ok/"
cat >"$RUN/sw/strongswan.conf" <<CONF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pubkey x509 curve25519 kernel-libipsec kernel-netlink socket-default vici
  init_limit_half_open = 0
  ikesa_table_size = 4096
  ikesa_table_segments = 16
  cookie_threshold = 100000
  cookie_threshold_ip = 100000
  block_threshold = 100000
  install_routes = no
  filelog {
    log {
      path = $RUN/sw/charon.log
      default = ${LOGLEVEL:-0}
    }
  }
  plugins {
    vici {
      socket = unix://$RUN/sw/run/charon.vici
    }
  }
}
CONF
# Both responders log at the same level (LOGLEVEL, strongSwan's 0 by default: audit, warnings and errors), Oakley to
# its stdout (the file $RUN/ok/out), strongSwan to its filelog.
cat >"$RUN/ok/strongswan.conf" <<CONF
charon {
  init_limit_half_open = 0
  cookie_threshold = 100000
  cookie_threshold_ip = 100000
  block_threshold = 100000
  filelog {
    stdout {
      default = ${LOGLEVEL:-0}
    }
  }
}
CONF

# lt_conf N: the load-tester initiating N IKE SAs (two initiator threads), then idle.
lt_conf() {
  cat <<CONF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pubkey x509 curve25519 load-tester kernel-netlink socket-default
  init_limit_half_open = 0
  retransmit_timeout = 8
  # charon's IKE SA table has one bucket by default: every lookup walks a list of every SA. Sized for the
  # 100,000-SA scale runs.
  ikesa_table_size = 65536
  ikesa_table_segments = 16
  # Without this each initiation walks every IKE SA for one to reuse (checkout_by_config), O(n) per SA.
  reuse_ikesa = no
  filelog {
    log {
      path = $RUN/lt/charon.log
      default = ${LOGLEVEL:-0}
    }
  }
  plugins {
    load-tester {
      enable = yes
      initiators = 2
      iterations = $(( $1 / 2 ))
      init_limit = $LIMIT
      version = 2
      proposal = aes128gcm16-prfsha256-x25519
      esp = aes128gcm16
      initiator = 192.0.2.1
      responder = 192.0.2.2
      initiator_auth = $([[ $AUTH == rsa* ]] && echo pubkey || echo psk)
      responder_auth = $([[ $AUTH == rsa* ]] && echo pubkey || echo psk)
$([[ $AUTH == rsa* ]] && printf '      issuer_cert = %s\n      issuer_key = %s\n      digest = sha256\n' "$RUN/pki/ca.pem" "$RUN/pki/ca.key")
      initiator_id = c%d-%d.example
      responder_id = srv.example
      initiator_tsi = 198.51.100.0/24
      initiator_tsr = 203.0.113.0/24
      ike_rekey = 0
      child_rekey = 0
      fake_kernel = yes
      socket = unix://$RUN/lt/run/charon.ldt
    }
  }
}
CONF
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)

# established RESPONDER: how many IKE SAs the responder holds established (one query).
established() {
  if [[ $1 == strongswan ]]; then
    ip netns exec "$NR" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl --stats --uri "unix://$RUN/sw/run/charon.vici" 2>/dev/null \
      | awk '/IKE_SAs:/ {print $2; exit}'
  else
    oakley_wait 0 0
  fi
}

# oakley_wait TARGET SECONDS: one python process polls the daemon's control socket ("stats", one JSON line) every
# 0.1 s until established-total reaches TARGET or SECONDS pass, and prints the last count. (A `dotnet oakley.dll stats`
# per poll would cost the machine ~100 ms of CPU each, more than the daemon's own work; swanctl is a small C program.)
oakley_wait() {
  /usr/bin/python3 - "$RUN/ok/oakley.ctl" "$1" "$2" <<'PY'
import json, socket, sys, time
path, target, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, n = time.monotonic() + seconds, 0
while True:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5); s.connect(path); s.sendall(b'{"cmd":"stats"}\n')
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk: break
                buf += chunk
            n = json.loads(buf).get("established-total", 0)
    except (OSError, ValueError):
        pass
    if n >= target or time.monotonic() >= end: break
    time.sleep(0.1)
print(n)
PY
}

# start_lt N: starts the load-tester for N SAs (one process for the warm-up and the batch: a second process would
# hand out the same SPIs again, which charon's SAD refuses).
start_lt() {
  lt_conf "$1" >"$RUN/lt/strongswan.conf"
  # Its own /run (as the strongSwan responder below): charon refuses to start while /run/charon.pid names a live
  # charon, e.g. another run of this script.
  ip netns exec "$NI" env STRONGSWAN_CONF="$RUN/lt/strongswan.conf" taskset -c 0 sh -c "mount --bind '$RUN/lt/run' /run && exec '$LT_CHARON'" >"$RUN/lt/out" 2>&1 &
  LT_PID=$!; PIDS+=("$LT_PID")
}

# wait_for RESPONDER TARGET: waits (at most WAIT seconds, 300 by default) until the responder holds TARGET established IKE SAs.
wait_for() {
  local n=0
  if [[ $1 == strongswan ]]; then
    for _ in $(seq $((${WAIT:-300} * 10))); do n=$(established "$1"); [[ ${n:-0} -ge $2 ]] && break; sleep 0.1; done
  else
    n=$(oakley_wait "$2" "${WAIT:-300}")
  fi
  [[ ${n:-0} -ge $2 ]]
}

# list_probe: the daemon's own part of a listing: one raw list-sas read off the control socket while a second
# connection asks for stats every 20 ms; prints the listing's time and size and the slowest stats answer (how long the
# engine was kept from other work).
list_probe() {
  /usr/bin/python3 - "$RUN/ok/oakley.ctl" <<'PY'
import json, socket, sys, threading, time
path = sys.argv[1]
def ask(cmd, keep=False):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60); s.connect(path); s.sendall(b'{"cmd":"%s"}\n' % cmd.encode()); n, last, kept = 0, b"", b""
        while not last.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk: break
            n += len(chunk); last = chunk
            if keep: kept += chunk
        return json.loads(kept) if keep else n
done, worst, polls = False, 0.0, 0
def poll():
    global worst, polls
    while not done:
        t = time.monotonic(); ask("stats"); worst = max(worst, time.monotonic() - t); polls += 1; time.sleep(0.02)
g0 = ask("stats", True)
th = threading.Thread(target=poll); th.start()
t0 = time.monotonic(); n = ask("list-sas"); t1 = time.monotonic(); done = True; th.join()
g1 = ask("stats", True)
print("  the daemon's listing read raw off its socket: %.2f s (%d bytes); %d stats requests meanwhile, the slowest answered in %.1f ms; GC pauses meanwhile %d ms, %d full collections"
      % (t1 - t0, n, polls, worst * 1000, g1.get("gc-pause-ms", 0) - g0.get("gc-pause-ms", 0), g1.get("gc-full-collections", 0) - g0.get("gc-full-collections", 0)))
PY
}

stop_lt() { kill -9 "$LT_PID" 2>/dev/null; wait "$LT_PID" 2>/dev/null; } # SIGKILL: a clean shutdown would delete the SAs

# start_responder RESPONDER: sets RESP_PID.
start_responder() {
  if [[ $1 == strongswan ]]; then
    rm -f "$RUN/sw/run/charon.vici"
    ip netns exec "$NR" env STRONGSWAN_CONF="$RUN/sw/strongswan.conf" taskset -c "$PIN" sh -c "mount --bind '$RUN/sw/run' /run && exec /usr/lib/ipsec/charon" >"$RUN/sw/out" 2>&1 &
    RESP_PID=$!
    for _ in $(seq 100); do [[ -S $RUN/sw/run/charon.vici ]] && break; sleep 0.1; done
    ip netns exec "$NR" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl --load-all --uri "unix://$RUN/sw/run/charon.vici" >/dev/null 2>&1 || return 1
  else
    rm -f "$RUN/ok/oakley.ctl"
    local ops=()
    [[ $1 == oakley-ops ]] && ops=(--metrics 127.0.0.1:9101)
    ip netns exec "$NR" taskset -c "$PIN" ${OAKLEY_WRAP:-} "${OAKLEY[@]}" daemon --config "$RUN/ok/swanctl.conf" --settings "$RUN/ok/strongswan.conf" \
      --control "$RUN/ok/oakley.ctl" --tun "okl$$" "${ops[@]}" >"$RUN/ok/out" 2>&1 &
    RESP_PID=$!
    for _ in $(seq 200); do [[ -S $RUN/ok/oakley.ctl ]] && break; sleep 0.1; done
    [[ -S $RUN/ok/oakley.ctl ]] || return 1
    if [[ $1 == oakley-ops ]]; then
      # What an operated daemon also does: Prometheus scrapes every second and swanctl --log follows the log over VICI
      # (both bounded; stop_responder ends them with everything else in the namespace).
      ip netns exec "$NR" taskset -c 0 sh -c 'for i in $(seq 900); do curl -s -o /dev/null http://127.0.0.1:9101/metrics; sleep 1; done' >/dev/null 2>&1 &
      PIDS+=("$!")
      ip netns exec "$NR" taskset -c 0 timeout 900 swanctl --log --uri "unix://$RUN/ok/oakley.ctl" >/dev/null 2>&1 &
      PIDS+=("$!")
    fi
  fi
  PIDS+=("$RESP_PID")
  sleep 2 # settle: the idle RSS is read after start-up
}

# stop_responder: ends the responder and whatever else runs in its namespace (all started here; a profiler in
# OAKLEY_WRAP may have forked the daemon off RESP_PID).
stop_responder() {
  kill "$RESP_PID" $(ip netns pids "$NR") 2>/dev/null
  for _ in $(seq 100); do [[ -z $(ip netns pids "$NR") ]] && break; sleep 0.1; done
  kill -9 "$RESP_PID" $(ip netns pids "$NR") 2>/dev/null; wait "$RESP_PID" 2>/dev/null
}

printf '%-10s %5s %10s %12s %12s %10s\n' responder round "cpu_ms/SA" "SAs/s" "KiB/SA" "idle_MB"
for round in $(seq "$ROUNDS"); do
  for r in ${RESPONDERS:-strongswan oakley}; do
    start_responder "$r" || { echo "FAIL: $r did not start"; cat "$RUN"/*/out; exit 1; }
    idle=$(rss_kib "$RESP_PID")
    start_lt $((WARMUP + COUNT))
    wait_for "$r" "$WARMUP" || { echo "FAIL: $r warm-up did not complete ($(established "$r") SAs)"; tail -n 5 "$RUN"/*/out; exit 1; }
    c0=$(cpu_ticks "$RESP_PID"); m0=$(rss_kib "$RESP_PID"); t0=$(date +%s.%N)
    wait_for "$r" $((WARMUP + COUNT)) || { echo "FAIL: $r batch did not complete ($(established "$r") SAs)"; exit 1; }
    c1=$(cpu_ticks "$RESP_PID"); m1=$(rss_kib "$RESP_PID"); LT_SECONDS=$(echo "$(date +%s.%N) - $t0" | bc)
    printf '%-10s %5d %10.3f %12.0f %12.1f %10.1f\n' "$r" "$round" \
      "$(echo "($c1 - $c0) * 1000 / $HZ / $COUNT" | bc -l)" "$(echo "$COUNT / $LT_SECONDS" | bc -l)" \
      "$(echo "($m1 - $m0) / $COUNT" | bc -l)" "$(echo "$idle / 1024" | bc -l)"
    if [[ -n ${IDLE:-} ]]; then # IDLE=S: the responder's CPU while it holds every SA, idle for S seconds, and one listing
      held=$((WARMUP + COUNT)); i0=$(cpu_ticks "$RESP_PID"); sleep "$IDLE"; i1=$(cpu_ticks "$RESP_PID"); m2=$(rss_kib "$RESP_PID")
      printf '  %s holding %d IKE SAs: idle CPU %.2f%% over %d s; RSS %.1f MB, %.2f KiB per SA over the idle daemon\n' "$r" "$held" \
        "$(echo "($i1 - $i0) * 100 / $HZ / $IDLE" | bc -l)" "$IDLE" "$(echo "$m2 / 1024" | bc -l)" "$(echo "($m2 - $idle) / $held" | bc -l)"
      l0=$(date +%s.%N)
      if [[ $r == oakley* ]]; then
        ip netns exec "$NR" "${OAKLEY[@]}" list-sas --json --control "$RUN/ok/oakley.ctl" >"$RUN/list.json"
      else
        ip netns exec "$NR" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl --list-sas --raw --uri "unix://$RUN/sw/run/charon.vici" >"$RUN/list.json"
      fi
      printf '  a full SA listing (%s) took %.2f s (%d bytes)\n' "$([[ $r == oakley* ]] && echo "oakley list-sas --json" || echo "swanctl --list-sas --raw")" \
        "$(echo "$(date +%s.%N) - $l0" | bc)" "$(stat -c %s "$RUN/list.json")"
      [[ $r == oakley* ]] && list_probe
    fi
    if [[ -n ${STATS:-} && $r == oakley* ]]; then # STATS=1: the responder's counters after the batch
      ip netns exec "$NR" "${OAKLEY[@]}" stats --control "$RUN/ok/oakley.ctl"; tail -n 5 "$RUN/ok/out"
      for ns in "$NR" "$NI"; do echo "UDP in $ns:"; ip netns exec "$ns" nstat -az 2>/dev/null | grep -E "Udp(InDatagrams|RcvbufErrors|InErrors|NoPorts) "; done
    elif [[ -n ${STATS:-} ]]; then
      ip netns exec "$NR" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl --stats --uri "unix://$RUN/sw/run/charon.vici"
      echo "CHILD SAs installed: $(ip netns exec "$NR" env SWANCTL_DIR="$RUN/sw/swanctl" swanctl --list-sas --uri "unix://$RUN/sw/run/charon.vici" | grep -c INSTALLED)"
    fi
    stop_lt # after the idle measurement: the load-tester answers DPD meanwhile
    stop_responder
  done
done
