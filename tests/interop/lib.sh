# shellcheck shell=bash
# Shared by the interop scripts and bench/tunnel-throughput.sh (sourced, not run; test.sh skips it).
# strongSwan runs as charon itself (no starter) inside a network namespace, with kernel-libipsec for its
# userspace ESP (the kernel here has no ESP) and its own /run bind-mounted from DIR/run.

# The repository this lib.sh belongs to (the scripts run the oakley.dll built there by default).
INTEROP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# oakley_from_arg [PATH]: sets OAKLEY_DLL to PATH (default: the Release oakley.dll of this repository) and OAKLEY to
# the command that runs it: (dotnet PATH) for a framework-dependent oakley.dll, (PATH) for the native executable
# (NativeAOT publish; test.sh runs both).
oakley_from_arg() {
  OAKLEY_DLL=${1:-$INTEROP_ROOT/src/Oakley.Cli/bin/Release/net10.0/oakley.dll}
  # shellcheck disable=SC2034 # OAKLEY is for the scripts that source this file
  if [[ $OAKLEY_DLL == *.dll ]]; then OAKLEY=(dotnet "$OAKLEY_DLL"); else OAKLEY=("$OAKLEY_DLL"); fi
}

# result NAME STATUS: prints "PASS NAME" if STATUS is 0, else "FAIL NAME" and counts it in failures (test.sh counts
# those lines; the scripts exit non-zero when failures > 0). Call it in the script's own shell, not in a subshell.
failures=0
result() {
  if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}

# need_tools TOOL...: exits 1 with "FAIL setup: TOOL is missing" for the first TOOL that command -v does not find.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }
  done
}

# setup_fail MESSAGE [FILE...]: prints "FAIL setup: MESSAGE" and the FILEs (what the failed step wrote), exits 1.
setup_fail() {
  echo "FAIL setup: $1"
  shift
  (($# == 0)) || cat "$@"
  exit 1
}

# The clean-up registry: what a script started or created, undone once at exit (on_exit_pid, on_exit_netns,
# on_exit_dir, on_exit_run set the EXIT trap; a script that uses them has no trap of its own). At exit: the PIDs
# are stopped, the last registered first (each one signalled, then killed if it outlives its grace time), then the
# on_exit_run commands run, then the namespaces and the directories are deleted.
ON_EXIT_PIDS=() ON_EXIT_GRACE=() ON_EXIT_SIGNALS=() ON_EXIT_CMDS=() ON_EXIT_NETNS=() ON_EXIT_DIRS=() ON_EXIT_KEPT=()

# on_exit_pid PID [SECONDS] [SIGNAL]: at exit PID (a process this script started) gets SIGNAL (default TERM) and,
# if it is still there after SECONDS (default 3), SIGKILL. An empty PID is ignored.
on_exit_pid() {
  [[ -n $1 ]] || return 0
  ON_EXIT_PIDS+=("$1") ON_EXIT_GRACE+=("${2:-3}") ON_EXIT_SIGNALS+=("${3:-TERM}")
  trap on_exit_cleanup EXIT
}

# on_exit_netns NS...: deletes the network namespaces NS (ones this script creates) at exit.
on_exit_netns() {
  ON_EXIT_NETNS+=("$@")
  trap on_exit_cleanup EXIT
}

# on_exit_dir DIR [KEEP]: deletes DIR (rm -rf) at exit, unless KEEP is non-empty: then it prints "kept DIR".
on_exit_dir() {
  if [[ -n ${2:-} ]]; then ON_EXIT_KEPT+=("$1"); else ON_EXIT_DIRS+=("$1"); fi
  trap on_exit_cleanup EXIT
}

# on_exit_run COMMAND: runs COMMAND (a string for eval; the script's own clean-up) at exit, after the PIDs are stopped
# and before the namespaces are deleted, in the order registered.
on_exit_run() {
  ON_EXIT_CMDS+=("$1")
  trap on_exit_cleanup EXIT
}

# stop_pid PID [SECONDS] [SIGNAL]: sends SIGNAL (default TERM) to PID, waits up to SECONDS (default 3) for it to end,
# then SIGKILLs it; the registry forgets PID (forget_pid). An empty PID is ignored. Returns 0.
stop_pid() {
  [[ -n $1 ]] || return 0
  kill "-${3:-TERM}" "$1" 2>/dev/null
  for _ in $(seq $((${2:-3} * 10))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && kill -KILL "$1" 2>/dev/null
  forget_pid "$1"
}

# stop_pids PID...: sends SIGTERM to all the PIDs at once (peers that delete their SAs with each other), waits up to
# 3 s for them all to end, then SIGKILLs and reaps them; the registry forgets them. Empty arguments are ignored.
stop_pids() {
  local p alive
  for p in "$@"; do [[ -n $p ]] && kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 30); do
    alive=0
    for p in "$@"; do [[ -n $p ]] && kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "$@"; do [[ -n $p ]] || continue; kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; forget_pid "$p"; done
  return 0
}

# forget_pid PID: takes PID out of the registry (the script has stopped and reaped it itself), so that the exit
# trap never signals a later process that happens to get the same PID. Returns 0.
forget_pid() {
  local i
  for i in "${!ON_EXIT_PIDS[@]}"; do
    [[ ${ON_EXIT_PIDS[i]} == "$1" ]] && unset "ON_EXIT_PIDS[i]" "ON_EXIT_GRACE[i]" "ON_EXIT_SIGNALS[i]"
  done
  return 0
}

# on_exit_cleanup: the EXIT trap of the registry (above); the script's exit status is kept.
on_exit_cleanup() {
  local i c ns indices=("${!ON_EXIT_PIDS[@]}")
  for ((c = ${#indices[@]} - 1; c >= 0; c--)); do
    i=${indices[c]}
    stop_pid "${ON_EXIT_PIDS[i]}" "${ON_EXIT_GRACE[i]}" "${ON_EXIT_SIGNALS[i]}"
  done
  for c in "${ON_EXIT_CMDS[@]}"; do eval "$c"; done
  for ns in "${ON_EXIT_NETNS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  for c in "${ON_EXIT_DIRS[@]}"; do rm -rf "$c"; done
  for c in "${ON_EXIT_KEPT[@]}"; do echo "kept $c"; done
  return 0
}

# strongswan_conf DIR: prints strongswan.conf for a charon whose files live in DIR (log DIR/charon.log,
# vici socket DIR/run/charon.vici).
strongswan_conf() {
  cat <<CONF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 md5 hmac gcm chapoly kdf pem pkcs1 pkcs8 pubkey x509 revocation constraints curve25519 kernel-libipsec kernel-netlink socket-default vici updown counters eap-identity eap-md5 eap-mschapv2 eap-gtc eap-tls eap-radius
  install_routes = yes
  filelog {
    log {
      path = $1/charon.log
      time_format = %b %e %T
      ike_name = yes
      append = no
      flush_line = yes
      default = 1
    }
  }
  plugins {
    vici {
      socket = unix://$1/run/charon.vici
    }
    kernel-libipsec {
      allow_peer_ts = no
    }
  }
}
CONF
}

# launch_charon NS DIR: writes DIR/strongswan.conf, starts charon in NS and waits for its vici socket.
# Sets CHARON_STARTED to charon's PID (the caller owns it and must stop it); returns 1 if vici never appeared.
launch_charon() {
  mkdir -p "$2/swanctl" "$2/run"
  rm -f "$2/run/charon.vici" # a socket left by a killed charon would look ready before the new one is
  strongswan_conf "$2" >"$2/strongswan.conf"
  ip netns exec "$1" env STRONGSWAN_CONF="$2/strongswan.conf" sh -c "mount --bind '$2/run' /run && exec /usr/lib/ipsec/charon" >"$2/charon.out" 2>&1 &
  CHARON_STARTED=$!
  for _ in $(seq 100); do [[ -S $2/run/charon.vici ]] && return 0; sleep 0.1; done
  return 1
}

# swanctl_in NS DIR ARGS...: runs swanctl against the charon of launch_charon NS DIR.
swanctl_in() {
  local ns=$1 dir=$2
  shift 2
  ip netns exec "$ns" env SWANCTL_DIR="$dir/swanctl" swanctl "$@" --uri "unix://$dir/run/charon.vici"
}

# make_pair NA NB IFA IFB: two network namespaces joined by a veth (IFA in NA, IFB in NB) with the addresses the
# scripts share: 192.0.2.1/24 and 192.0.2.2/24 on the link, 198.51.100.1 and 203.0.113.1 on the loopbacks as the
# inner (tunnelled) hosts. Returns 1 if the namespaces cannot be created.
make_pair() {
  ip netns add "$1" && ip netns add "$2" || return 1
  ip link add "$3" type veth peer name "$4"
  ip link set "$3" netns "$1"; ip link set "$4" netns "$2"
  ip -n "$1" link set lo up; ip -n "$2" link set lo up
  ip -n "$1" addr add 192.0.2.1/24 dev "$3"; ip -n "$2" addr add 192.0.2.2/24 dev "$4"
  ip -n "$1" addr add 198.51.100.1/32 dev lo; ip -n "$2" addr add 203.0.113.1/32 dev lo
  ip -n "$1" link set "$3" up; ip -n "$2" link set "$4" up
}

# psk_conf LOCAL_ADDRS REMOTE_ADDRS LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS SECRET [CONNECTION_KEYS] [CHILD_KEYS]: prints a
# swanctl.conf with one IKEv2 connection "tunnel" (PSK both ways) with one child "net", and SECRET for the identities
# a.example and b.example. CONNECTION_KEYS and CHILD_KEYS are extra "key = value" lines (one per line) for the
# connection and the child; proposals and esp_proposals default to aes256gcm16-prfsha256-x25519 and aes256gcm16.
psk_conf() {
  local conn=${8:-} child=${9:-}
  [[ $conn == *proposals* ]] || conn+=$'\n'"proposals = aes256gcm16-prfsha256-x25519"
  [[ $child == *esp_proposals* ]] || child+=$'\n'"esp_proposals = aes256gcm16"
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $1
    remote_addrs = $2
$(sed '/^$/d; s/^/    /' <<<"$conn")
    local {
      auth = psk
      id = $3
    }
    remote {
      auth = psk
      id = $4
    }
    children {
      net {
        local_ts = $5
        remote_ts = $6
$(sed '/^$/d; s/^/        /' <<<"$child")
      }
    }
  }
}
secrets {
  ike {
    id-a = a.example
    id-b = b.example
    secret = "$7"
  }
}
CONF
}
