#!/usr/bin/env bash
# The systemd unit (packaging/oakley.service) and the daemon's systemd integration, without systemd as PID 1:
# systemd-analyze verify and security --offline on the unit (exposure at most MAX_EXPOSURE); the daemon with
# NOTIFY_SOCKET/WATCHDOG_USEC set, under the unit's capability bounding set, on the default ports (READY=1 with
# STATUS, WATCHDOG=1, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM, an abstract socket name); journald's
# native protocol in a private mount namespace whose /run/systemd/journal/socket is our receiver (IKE_SA_NAME,
# IKE_SA_UNIQUE_ID, PEER_ADDRESS of a real IKE SA, no secret in any field) and the stderr fallback without that socket;
# and, when the NativeAOT executable exists (artifacts/native/oakley, test.sh publishes it), that executable under
# the unit's MemoryDenyWriteExecute=yes (the same seccomp rules, tests/interop/systemd-sandbox.c), /proc mounted with
# ProcSubset=pid and the capability set negotiating an IKE SA. The receiver is the hidden `oakley systemd-receive`.
# Usage: tests/interop/systemd.sh [path to oakley.dll, or the native oakley]. Needs root, iproute2, util-linux,
# clang (test.sh installs them). Prints "PASS name" / "FAIL name" lines; exits non-zero if any failed. KEEP_RUN=1
# keeps the run directory (logs, received datagrams) for a look afterwards.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NATIVE=$ROOT/artifacts/native/oakley
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
[[ ${OAKLEY[0]} == dotnet ]] && OAKLEY[0]=$(command -v dotnet) # an absolute path: the sandbox scripts run it too
# The exposure systemd-analyze gives the unit (2.1 when this was written: root, network access and CAP_NET_ADMIN
# are what an IKE daemon cannot give up). A change to the unit that weakens its sandbox fails here.
MAX_EXPOSURE=2.2
ID=$$
NA=sd-a$ID
NB=sd-b$ID
RUN=$(mktemp -d /tmp/oakley-systemd.XXXXXX)
on_exit_run 'for f in "$RUN"/*.pid; do [[ -f $f ]] && stop_pid "$(cat "$f")" 5; done' # the receivers in the sandboxes
on_exit_dir "$RUN" "${KEEP_RUN:-}"
on_exit_netns "$NA" "$NB"
need_tools ip systemd-analyze setpriv unshare stat

# wait_for FILE PATTERN [SECONDS]: waits (bounded) until FILE has a line matching PATTERN (extended regex).
wait_for() {
  for _ in $(seq $((${3:-20} * 10))); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# exited PID SECONDS: waits (bounded) for PID to end; EXIT_CODE is its status.
exited() {
  EXIT_CODE=
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; EXIT_CODE=$?; return 0; }; sleep 0.1; done
  return 1
}
count() { local n; n=$(grep -cE "$2" "$1" 2>/dev/null); echo "${n:-0}"; }
# receive NS SOCKET NAME [SECONDS]: the receiver in the background, its output in RUN/NAME.out (@SOCKET: abstract).
receive() {
  local where=(--socket "$2")
  [[ $2 == @* ]] && where=(--socket "${2#@}" --abstract)
  ip netns exec "$1" "${OAKLEY[@]}" systemd-receive "${where[@]}" --seconds "${4:-120}" >"$RUN/$3.out" 2>&1 &
  on_exit_pid $! 5
  wait_for "$RUN/$3.out" "^listening on" 30
}

# ---- the unit: systemd-analyze verify (ExecStart pointed at the built daemon) and the exposure score ------------
sed "s|^ExecStart=/usr/sbin/oakley |ExecStart=${OAKLEY[*]} |" "$ROOT/packaging/oakley.service" >"$RUN/oakley.service"
grep -q "^ExecStart=${OAKLEY[0]} " "$RUN/oakley.service"
result "unit: ExecStart names the built daemon" $?
# --man=no: the man pages in Documentation= come with the Debian package, not with the tree.
verify=$(systemd-analyze verify --man=no "$RUN/oakley.service" 2>&1)
rc=$?
ours=$(grep -c "oakley.service" <<<"$verify")
[[ $rc -eq 0 && $ours -eq 0 ]]
result "unit: systemd-analyze verify is clean" $?
((rc != 0 || ours != 0)) && echo "$verify"
security=$(systemd-analyze security --offline=true --no-pager "$RUN/oakley.service" 2>&1)
score=$(grep -oE "Overall exposure level for oakley.service: [0-9.]+" <<<"$security" | grep -oE "[0-9.]+$")
echo "unit: systemd-analyze security --offline=true: exposure ${score:-?} (at most $MAX_EXPOSURE)"
[[ -n $score ]] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'
result "unit: exposure ${score:-?} <= $MAX_EXPOSURE" $?
[[ -z $score ]] && echo "$security" | tail -20

# ---- topology (documentation addresses only, shared/interop.md) ----
make_pair "$NA" "$NB" "sda$ID" "sdb$ID" || setup_fail "cannot create namespaces"
SECRET="sd-psk-$ID-never-logged"
psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 "$SECRET" >"$RUN/a.conf"
psk_conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.1/32 198.51.100.1/32 "$SECRET" >"$RUN/b.conf"
# The unit's capabilities: root keeps only these three (CapabilityBoundingSet=), and no_new_privs.
CAPS=(setpriv --bounding-set -all,+net_admin,+net_raw,+net_bind_service --inh-caps -all --no-new-privs)

# ---- sd_notify: start, watchdog, reload, stop (ports 500/4500 and the TUN device with the unit's capabilities) ----
receive "$NA" "$RUN/notify.sock" notify
ip netns exec "$NA" env NOTIFY_SOCKET="$RUN/notify.sock" WATCHDOG_USEC=2000000 "${CAPS[@]}" "${OAKLEY[@]}" daemon --config "$RUN/a.conf" \
  --control "$RUN/a.ctl" --tun "sdta$ID" >"$RUN/a.log" 2>&1 &
DAEMON=$!
on_exit_pid "$DAEMON" 5
wait_for "$RUN/notify.out" "^READY=1" 30
result "notify: READY=1 once listening" $?
grep -qE "^STATUS=0 IKE SA\(s\), 1 connection\(s\); listening on 192.0.2.1:500, 192.0.2.1:4500" "$RUN/notify.out"
result "notify: STATUS= names the SAs, connections and endpoints" $?
ip -n "$NA" link show "sdta$ID" >/dev/null 2>&1
result "capabilities: the unit's bounding set opens the TUN device and binds UDP 500/4500" $?
# A round the engine does not answer within 0.5 s earns no ping: on a loaded machine some may be missed.
for _ in $(seq 200); do (($(count "$RUN/notify.out" "^WATCHDOG=1") >= 3)) && break; sleep 0.1; done
pings=$(count "$RUN/notify.out" "^WATCHDOG=1")
((pings >= 3))
result "notify: WATCHDOG=1 repeats, every half of WATCHDOG_USEC ($pings pings)" $?
kill -HUP "$DAEMON"
wait_for "$RUN/notify.out" "^STATUS=reloaded $RUN/a.conf" 20
reload=$(grep -E "^(RELOADING|READY)=1" "$RUN/notify.out" | tr '\n' ' ')
[[ $reload == "READY=1 RELOADING=1 READY=1 " ]]
result "notify: SIGHUP gives RELOADING=1 then READY=1 ($reload)" $?
grep -qE "^MONOTONIC_USEC=[0-9]+$" "$RUN/notify.out"
result "notify: RELOADING=1 carries MONOTONIC_USEC" $?
kill -TERM "$DAEMON"
exited "$DAEMON" 20 && [[ $EXIT_CODE -eq 0 ]] && wait_for "$RUN/notify.out" "^STOPPING=1" 5
result "notify: SIGTERM gives STOPPING=1 and exit 0" $?

# An abstract socket name (@...), as systemd may pass.
receive "$NA" "@oakley-sd-$ID" abstract
ip netns exec "$NA" env NOTIFY_SOCKET="@oakley-sd-$ID" "${OAKLEY[@]}" daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" \
  --tun "sdta$ID" >"$RUN/abstract.log" 2>&1 &
DAEMON=$!
on_exit_pid "$DAEMON" 5
wait_for "$RUN/abstract.out" "^READY=1" 30
result "notify: an abstract NOTIFY_SOCKET (@name) gets READY=1" $?
stop_pid "$DAEMON" 5

# ---- journald's native protocol, with a real IKE SA ----------------------------------------------------------
ip netns exec "$NB" "${OAKLEY[@]}" daemon --config "$RUN/b.conf" --control "$RUN/b.ctl" --tun "sdtb$ID" >"$RUN/b.log" 2>&1 &
on_exit_pid $! 5
wait_for "$RUN/b.log" "oakley daemon listening" 30
# start_journal NAME [SOCKET]: daemon A in a private mount namespace whose /run/systemd is a fresh tmpfs, with
# JOURNAL_STREAM naming its stderr (RUN/NAME.err) and, with SOCKET=yes, our receiver as journald (RUN/NAME.out).
start_journal() {
  cat >"$RUN/$1.sh" <<EOF
mount -t tmpfs tmpfs /run/systemd || exit 1
mkdir -p /run/systemd/journal
if [[ $2 == yes ]]; then
  ${OAKLEY[*]} systemd-receive --socket /run/systemd/journal/socket --seconds 120 >"$RUN/$1.out" 2>&1 &
  echo \$! >"$RUN/$1-receiver.pid"
  for _ in \$(seq 300); do grep -q "^listening on" "$RUN/$1.out" 2>/dev/null && break; sleep 0.1; done
fi
exec 3>"$RUN/$1.err"
export JOURNAL_STREAM=\$(stat -L -c %d:%i /proc/self/fd/3)
exec ${OAKLEY[*]} daemon --config "$RUN/a.conf" --control "$RUN/a.ctl" --tun "sdta$ID" >"$RUN/$1.stdout" 2>&3
EOF
  ip netns exec "$NA" unshare --mount --propagation private bash "$RUN/$1.sh" &
  JOURNALED=$!
  on_exit_pid "$JOURNALED" 5
}
start_journal journal yes
wait_for "$RUN/journal.out" "^MESSAGE=oakley daemon listening" 30
result "journal: the daemon logs to journald's socket when JOURNAL_STREAM is its stderr" $?
timeout 60 ip netns exec "$NA" "${OAKLEY[@]}" initiate --child net --control "$RUN/a.ctl" >"$RUN/initiate.log" 2>&1
wait_for "$RUN/journal.out" "^MESSAGE=\[tunnel\|[0-9]+\] CHILD_SA net established" 30
result "journal: an IKE SA comes up (initiated by the journaled daemon)" $?
# The entry of "IKE_SA established", as the receiver printed it (its fields up to the next "--").
entry=$(awk '/^MESSAGE=\[tunnel\|[0-9]+\] IKE_SA established/ { on = 1 } on { print } on && /^--$/ { exit }' "$RUN/journal.out")
for field in "PRIORITY=6" "SYSLOG_IDENTIFIER=oakley" "IKE_SA_NAME=tunnel" "PEER_ADDRESS=192.0.2.2" "PEER_PORT=[0-9]+" "IKE_SA_UNIQUE_ID=[0-9]+" "OAKLEY_LOGGER=ike"; do
  grep -qxE "$field" <<<"$entry"
  result "journal: IKE_SA established has $field" $?
done
child=$(awk '/^MESSAGE=\[tunnel\|[0-9]+\] CHILD_SA net established/ { on = 1 } on { print } on && /^--$/ { exit }' "$RUN/journal.out")
grep -qx "OAKLEY_CHILD=net" <<<"$child" && grep -qx "PEER_ADDRESS=192.0.2.2" <<<"$child" && grep -qxE "OAKLEY_IN=[0-9a-f]{8}" <<<"$child"
result "journal: CHILD_SA established has OAKLEY_CHILD, the peer and the SPI in hex" $?
leaks=$(cat "$RUN"/journal.* | grep -c -- "$SECRET")
[[ $leaks -eq 0 ]]
result "journal: the PSK appears in no entry and on no stream" $?
lines=$(count "$RUN/journal.stdout" "info:")
[[ $lines -eq 0 ]]
result "journal: nothing is logged twice to the stream" $?
stop_pid "$JOURNALED" 5
for f in "$RUN"/journal-receiver.pid; do [[ -f $f ]] && stop_pid "$(cat "$f")" 5; done

# JOURNAL_STREAM is stderr but journald's socket is absent: stderr with <N> priority prefixes.
start_journal fallback no
wait_for "$RUN/fallback.err" "^<6>oakley\[0\] oakley daemon listening" 30
result "journal: without the socket, stderr with <6> prefixes" $?
stop_pid "$JOURNALED" 5

# ---- the NativeAOT executable under MemoryDenyWriteExecute=yes, ProcSubset=pid and the unit's capabilities ------
if [[ ! -x $NATIVE ]]; then
  echo "SKIP native sandbox: no $NATIVE (dotnet publish src/Oakley.Cli -c Release -r linux-x64 -o artifacts/native)"
elif ! clang -O2 -Wall -Werror -o "$RUN/sandbox" "$(dirname "$0")/systemd-sandbox.c" 2>"$RUN/clang.log"; then
  cat "$RUN/clang.log"
  result "native sandbox: the seccomp helper builds" 1
else
  ip netns exec "$NB" "${OAKLEY[@]}" terminate --ike tunnel --control "$RUN/b.ctl" >/dev/null 2>&1
  # The JIT needs writable and executable memory: the rules must stop it, or they prove nothing.
  # (In a subshell that reports the status itself: the crash message goes to the log, not to the test's output.)
  (timeout 30 "$RUN/sandbox" "$(command -v dotnet)" "$ROOT/src/Oakley.Cli/bin/Release/net10.0/oakley.dll" --help; echo "exit status $?") >"$RUN/jit.log" 2>&1
  jit=$(sed -n 's/^exit status //p' "$RUN/jit.log")
  "$RUN/sandbox" /bin/true && ((${jit:-0} > 128 && ${jit:-0} != 124))
  result "native sandbox: the rules let /bin/true run and kill a JIT build (dotnet oakley.dll: status ${jit:-none})" $?
  cat >"$RUN/native.sh" <<EOF
mount -t proc -o subset=pid,hidepid=invisible proc /proc || exit 1
exec env NOTIFY_SOCKET="$RUN/native.sock" WATCHDOG_USEC=2000000 ${CAPS[*]} "$RUN/sandbox" "$NATIVE" daemon --config "$RUN/a.conf" \
  --control "$RUN/a.ctl" --tun "sdta$ID"
EOF
  receive "$NA" "$RUN/native.sock" native
  ip netns exec "$NA" unshare --mount --propagation private bash "$RUN/native.sh" >"$RUN/native.log" 2>&1 &
  DAEMON=$!
  on_exit_pid "$DAEMON" 5
  wait_for "$RUN/native.out" "^READY=1" 30
  result "native sandbox: READY=1" $?
  timeout 60 ip netns exec "$NA" "${OAKLEY[@]}" initiate --child net --control "$RUN/a.ctl" >"$RUN/native-initiate.log" 2>&1
  wait_for "$RUN/native.log" "CHILD_SA net established" 30 && wait_for "$RUN/native.out" "^WATCHDOG=1" 10
  result "native sandbox: an IKE SA and a CHILD SA come up, the watchdog pings" $?
  ip netns exec "$NA" ping -c 2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1
  result "native sandbox: traffic flows through the TUN device" $?
  kill -TERM "$DAEMON"
  exited "$DAEMON" 20 && [[ $EXIT_CODE -eq 0 ]]
  result "native sandbox: SIGTERM, exit 0" $?
  oops=$(grep -ciE "unhandled|segmentation|core dumped|Operation not permitted" "$RUN/native.log")
  [[ $oops -eq 0 ]]
  result "native sandbox: no crash and no EPERM in the log" $?
  ((oops)) && tail -20 "$RUN/native.log"
fi

((failures == 0))
