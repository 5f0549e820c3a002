#!/usr/bin/env bash
# The daemon in bad environments and under signals, in two network namespaces (no strongSwan): a local_addrs
# address that is not there yet (the daemon waits, binds when it appears, and a peer connects), the IKE port in
# use or not permitted, the control socket taken by a live daemon, its directory missing (created) or impossible, no CAP_NET_ADMIN
# (a warning, no TUN, IKE still works), SIGHUP (reload; a broken config keeps the old one), SIGKILL then a restart
# (the stale socket, rules and routes are cleaned, other rules are left alone) and SIGTERM (nothing left behind).
# No output may hold an unhandled exception or a stack trace. Prints "PASS name" / "FAIL name" lines; exits
# non-zero if any failed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
oakley_from_arg "${1:-}"
ID=$$
NA=hst-a$ID
NB=hst-b$ID
TUN_A=hsta$ID
TUN_B=hstb$ID
RUN=$(mktemp -d /tmp/oakley-hst.XXXXXX)
on_exit_dir "$RUN"
on_exit_netns "$NA" "$NB"
need_tools ip dotnet setpriv ping

# Namespaces joined by a veth, but A's link address is NOT added yet (the first test adds it).
ip netns add "$NA" && ip netns add "$NB" || setup_fail "cannot create namespaces"
ip link add "hst0a$ID" type veth peer name "hst0b$ID"
ip link set "hst0a$ID" netns "$NA"; ip link set "hst0b$ID" netns "$NB"
ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
ip -n "$NB" addr add 192.0.2.2/24 dev "hst0b$ID"
ip -n "$NA" addr add 198.51.100.1/32 dev lo; ip -n "$NB" addr add 203.0.113.1/32 dev lo
ip -n "$NA" link set "hst0a$ID" up; ip -n "$NB" link set "hst0b$ID" up

# ESP in UDP (encap = yes): the packets leave from the NAT-T socket that A binds late.
psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 hst-secret "encap = yes" >"$RUN/a.conf"
psk_conf 192.0.2.2 192.0.2.1 b.example a.example 203.0.113.1/32 198.51.100.1/32 hst-secret "encap = yes" >"$RUN/b.conf"

# start NS NAME CONF CONTROL [PREFIX...] -- [DAEMON OPTIONS...]: starts a daemon in the background, output in
# RUN/NAME.log; sets STARTED to its PID (also remembered for the cleanup).
start() {
  local ns=$1 name=$2 conf=$3 ctl=$4
  shift 4
  local prefix=()
  while (($#)) && [[ $1 != -- ]]; do prefix+=("$1"); shift; done
  (($#)) && shift
  ip netns exec "$ns" "${prefix[@]}" dotnet "$OAKLEY_DLL" daemon --config "$conf" --control "$ctl" "$@" >"$RUN/$name.log" 2>&1 &
  STARTED=$!
  on_exit_pid "$STARTED" 5
}
# wait_log NAME PATTERN [SECONDS]: waits (bounded) until RUN/NAME.log has a line matching PATTERN.
wait_log() {
  for _ in $(seq $((${3:-15} * 10))); do grep -qE "$2" "$RUN/$1.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# exited PID SECONDS: waits (bounded) for PID to end; EXIT_CODE is its status (empty if it is still running).
exited() {
  EXIT_CODE=
  for _ in $(seq $(($2 * 10))); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; EXIT_CODE=$?; return 0; }; sleep 0.1; done
  return 1
}
OAK() { local ns=$1 ctl=$2; shift 2; timeout 60 ip netns exec "$ns" dotnet "$OAKLEY_DLL" "$@" --control "$ctl"; }
# (grep -c, not grep -q, after a pipe: grep -q may exit before the writer is done, and pipefail fails the line.)
oakley_rules() { ip -n "$1" rule show | grep -cE 'proto 79|fwmark 0x4f414b|lookup 220'; }

# ---- local_addrs not on the host: wait, then bind when it appears, and a peer connects -----------------------
start "$NB" b "$RUN/b.conf" "$RUN/b.ctl" -- --tun "$TUN_B"
PID_B=$STARTED
start "$NA" a "$RUN/a.conf" "$RUN/a.ctl" -- --tun "$TUN_A"
PID_A=$STARTED
wait_log b "oakley daemon listening" && wait_log a "oakley daemon listening"
ok=$?
sleep 2 # a few retries: still waiting, logged once, alive
[[ $ok -eq 0 && $(grep -c "local address 192.0.2.1 (local_addrs) is not on this host: waiting for it to appear" "$RUN/a.log") -eq 1 ]] \
  && kill -0 "$PID_A" 2>/dev/null
result address-missing-waits $?
ip -n "$NA" addr add 192.0.2.1/24 dev "hst0a$ID"
wait_log a "local address 192.0.2.1 appeared: listening on 192.0.2.1:500 and 192.0.2.1:4500" 10
result address-appears-binds $?
OAK "$NB" "$RUN/b.ctl" initiate --child net --timeout 20 >"$RUN/initiate.out" 2>&1 \
  && OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -c '"state": "ESTABLISHED"' >/dev/null
result address-appeared-peer-connects $?
ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1 \
  && OAK "$NA" "$RUN/a.ctl" list-sas --json 2>/dev/null | grep -c '"encap": true' >/dev/null
result address-appeared-esp-in-udp-flows $?

# ---- the IKE port in use (B's daemon holds 192.0.2.2:500): one line, exit 1, B untouched ----------------------
rules_before=$(oakley_rules "$NB")
start "$NB" b-port "$RUN/b.conf" "$RUN/b-port.ctl" -- --tun "hstc$ID"
exited "$STARTED" 20 && [[ $EXIT_CODE -eq 1 ]] \
  && grep -q "^oakley: cannot bind 192.0.2.2:500: Address already in use" "$RUN/b-port.log" \
  && [[ $(grep -c . "$RUN/b-port.log") -eq 1 ]] && [[ ! -e $RUN/b-port.ctl ]] \
  && [[ $(oakley_rules "$NB") -eq $rules_before ]] && OAK "$NB" "$RUN/b.ctl" list-conns >/dev/null
result port-in-use-one-line-exit-1 $?

# ---- no permission for port 500 (CAP_NET_BIND_SERVICE dropped): one line, exit 1 --------------------------------
start "$NB" b-perm "$RUN/b.conf" "$RUN/b-perm.ctl" setpriv --bounding-set -net_bind_service -- --tun "hstc$ID"
exited "$STARTED" 20 && [[ $EXIT_CODE -eq 1 ]] \
  && grep -q "^oakley: cannot bind 192.0.2.2:500: Permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)" "$RUN/b-perm.log" \
  && [[ $(grep -c . "$RUN/b-perm.log") -eq 1 ]] && [[ ! -e $RUN/b-perm.ctl ]]
result port-permission-one-line-exit-1 $?

# ---- the control socket of a live daemon: refused, the live one keeps its socket ------------------------------
start "$NB" b-ctl "$RUN/b.conf" "$RUN/b.ctl" -- --port 5500 --natt-port 5501 --tun "hstc$ID"
exited "$STARTED" 20 && [[ $EXIT_CODE -eq 1 ]] \
  && grep -q "^oakley: another daemon is listening on the control socket $RUN/b.ctl" "$RUN/b-ctl.log" \
  && [[ -S $RUN/b.ctl ]] && OAK "$NB" "$RUN/b.ctl" list-conns >/dev/null
result control-socket-in-use-refused $?

# ---- a second daemon in the same namespace (other ports and socket) leaves the first one's rules alone ----------
rules_before=$(oakley_rules "$NB")
start "$NB" b-second "$RUN/b.conf" "$RUN/b-second.ctl" -- --port 5500 --natt-port 5501 --tun "hstc$ID"
wait_log b-second "another Oakley daemon runs in this network namespace" 20 && wait_log b-second "oakley daemon listening" 20 \
  && [[ $(oakley_rules "$NB") -eq $rules_before ]]
ok=$?
stop_pid "$STARTED" 5; exited "$STARTED" 10
[[ $ok -eq 0 && $EXIT_CODE -eq 0 && $(oakley_rules "$NB") -eq $rules_before && $rules_before -ge 2 ]] && OAK "$NB" "$RUN/b.ctl" list-conns >/dev/null
result second-daemon-same-namespace-keeps-rules $?

# ---- SIGHUP: reload like load-all; a broken config is logged and the old one kept -----------------------------
sed "s/^      net {/      lan {/" "$RUN/a.conf" >"$RUN/a.conf.new" && mv "$RUN/a.conf.new" "$RUN/a.conf"
kill -HUP "$PID_A"
wait_log a "reloaded $RUN/a.conf: 1 connection" 10 && grep -q "SIGHUP received: reloading" "$RUN/a.log" \
  && OAK "$NA" "$RUN/a.ctl" list-conns --json | grep -c '"name": "lan"' >/dev/null && kill -0 "$PID_A" 2>/dev/null
result sighup-reloads $?
echo "connections { broken {" >"$RUN/a.conf"
kill -HUP "$PID_A"
wait_log a "reload failed, keeping the old configuration" 10 \
  && OAK "$NA" "$RUN/a.ctl" list-conns --json | grep -c '"name": "lan"' >/dev/null && kill -0 "$PID_A" 2>/dev/null
result sighup-bad-config-keeps-old $?
psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 hst-secret >"$RUN/a.conf"

# ---- SIGTERM: clean exit 0, socket, rules and routes gone ------------------------------------------------------
stop_pid "$PID_A" 5; exited "$PID_A" 10
[[ $EXIT_CODE -eq 0 && ! -e $RUN/a.ctl && $(oakley_rules "$NA") -eq 0 ]] && [[ -z $(ip -n "$NA" route show table 220) ]]
result sigterm-removes-everything $?

# ---- SIGKILL, then a restart cleans what the killed daemon left (and nothing else) -----------------------------
ip -n "$NA" rule add priority 300 fwmark 0x1 lookup main # someone else's rule: must survive
psk_conf 192.0.2.1 192.0.2.2 a.example b.example 198.51.100.1/32 203.0.113.1/32 hst-secret "" "start_action = trap" >"$RUN/a.conf"
start "$NA" a-kill "$RUN/a.conf" "$RUN/a.ctl" -- --tun "$TUN_A"
wait_log a-kill "child net trapped" 20
installed=$?
[[ $installed -eq 0 && $(oakley_rules "$NA") -ge 2 && -n $(ip -n "$NA" route show table 220) ]]
result sigkill-precondition-installed $?
{ kill -KILL "$STARTED"; exited "$STARTED" 10; } 2>/dev/null
[[ -S $RUN/a.ctl && $(oakley_rules "$NA") -ge 2 ]] # what an unclean exit leaves
result sigkill-leaves-state $?
start "$NA" a-restart "$RUN/a.conf" "$RUN/a.ctl" -- --tun "$TUN_A"
PID_A=$STARTED
wait_log a-restart "child net trapped" 20 && grep -q "removed the stale control socket $RUN/a.ctl" "$RUN/a-restart.log" \
  && grep -qE "removed [0-9]+ routing rule" "$RUN/a-restart.log" \
  && [[ $(ip -n "$NA" rule show | grep -c 'fwmark 0x4f414b') -eq 1 ]] && OAK "$NA" "$RUN/a.ctl" list-conns >/dev/null
result restart-after-sigkill-cleans $?
stop_pid "$PID_A" 5; exited "$PID_A" 10
[[ $EXIT_CODE -eq 0 && ! -e $RUN/a.ctl && $(oakley_rules "$NA") -eq 0 ]] && [[ -z $(ip -n "$NA" route show table 220) ]] \
  && ip -n "$NA" rule show | grep -c "300:.*fwmark 0x1 lookup main" >/dev/null
result restart-then-sigterm-clean-others-kept $?

# ---- no CAP_NET_ADMIN: one warning, no TUN, IKE still negotiates -----------------------------------------------
start "$NA" a-nocap "$RUN/a.conf" "$RUN/a.ctl" setpriv --bounding-set -net_admin -- --tun "$TUN_A"
PID_A=$STARTED
wait_log a-nocap "oakley daemon listening" 20 \
  && [[ $(grep -c "no ESP data plane: cannot create the TUN device $TUN_A: Operation not permitted (Oakley needs CAP_NET_ADMIN" "$RUN/a-nocap.log") -eq 1 ]] \
  && OAK "$NA" "$RUN/a.ctl" initiate --child net --timeout 20 >/dev/null 2>&1 && kill -0 "$PID_A" 2>/dev/null
result no-cap-net-admin-warns-and-negotiates $?
stop_pid "$PID_A" 5; exited "$PID_A" 10
[[ $EXIT_CODE -eq 0 && ! -e $RUN/a.ctl ]]
result no-cap-net-admin-clean-exit $?

# ---- the control socket's directory missing: created; one that cannot be created: one line, exit 1 -------------
start "$NA" a-dir "$RUN/a.conf" "$RUN/new/dir/a.ctl" -- --tun "$TUN_A"
PID_A=$STARTED
wait_log a-dir "oakley daemon listening" 20 && grep -q "created the directory $RUN/new/dir for the control socket" "$RUN/a-dir.log" \
  && OAK "$NA" "$RUN/new/dir/a.ctl" list-conns >/dev/null
result control-dir-missing-created $?
stop_pid "$PID_A" 5; exited "$PID_A" 10
[[ $EXIT_CODE -eq 0 && ! -e $RUN/new/dir/a.ctl ]]
result control-dir-clean-exit $?
start "$NA" a-baddir "$RUN/a.conf" /proc/hst$ID/a.ctl -- --tun "$TUN_A"
exited "$STARTED" 20 && [[ $EXIT_CODE -eq 1 ]] && grep -q "^oakley: cannot create the directory /proc/hst$ID for the control socket" "$RUN/a-baddir.log" \
  && [[ $(grep -c . "$RUN/a-baddir.log") -eq 1 ]] && [[ $(oakley_rules "$NA") -eq 0 ]]
result control-dir-impossible-one-line-exit-1 $?

# ---- B ends cleanly too; then nothing anywhere printed an unhandled exception or a stack trace ------------------
stop_pid "$PID_B" 5; exited "$PID_B" 10
[[ $EXIT_CODE -eq 0 && ! -e $RUN/b.ctl && $(oakley_rules "$NB") -eq 0 ]]
result peer-sigterm-clean $?
! grep -lE "Unhandled exception|^   at |^\s+at Oakley\." "$RUN"/*.log "$RUN/initiate.out"
result no-unhandled-exception-or-stack-trace $?

if ((failures > 0)); then
  for f in "$RUN"/*.log; do echo "== $f"; tail -20 "$f"; done
fi
((failures == 0))
