#!/usr/bin/env bash
# The Debian package, installed as a user installs it: packaging/build-deb.sh builds the .deb; debootstrap makes a
# clean Debian 12 root (minbase, with systemd) from the mirror of /etc/apt/sources.list.d/debian.sources; apt-get
# installs the .deb there with its dependencies. Then the files are checked (the executable runs without a .NET SDK,
# the man pages, the unit, the example configuration), real systemd boots the root (systemd-nspawn --boot, in a
# network namespace) and starts oakley.service, and the packaged daemon brings up a tunnel with strongSwan in a
# second namespace and carries pings. Where nspawn cannot boot the root, the unit's ExecStart runs in a chroot in
# that namespace instead (and the systemd-only checks are not run; the script says so). Last: remove, then purge.
# Usage: tests/interop/deb-install.sh [the native oakley of a NativeAOT publish; default artifacts/native/oakley,
# published by build-deb.sh when absent]. Needs root, network access to the Debian mirror, debootstrap, dpkg-deb,
# binutils, strongSwan (test.sh installs them) and systemd-container. Prints "PASS name" / "FAIL name" lines and
# how long it took; exits non-zero if any failed. Nothing is cached: every run starts from debootstrap.
set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
NATIVE=${1:-$REPO/artifacts/native/oakley}
source "$(dirname "$0")/lib.sh"
STARTED_AT=$(date +%s)
ID=$$
NA=debA$ID
NB=debB$ID
MACHINE=oakdeb$ID
RUN=$(mktemp -d /tmp/oakley-deb.XXXXXX)
ROOT=$RUN/root
CHARON_PID= NSPAWN_PID= DAEMON_PID= LEADER=

mounts_under() { awk -v p="$1/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r; }
cleanup() {
  stop_pid "$NSPAWN_PID" 30 # nspawn shuts the container's systemd down on SIGTERM
  stop_pid "$DAEMON_PID" 5
  stop_pid "$CHARON_PID" 5
  local m
  for m in $(mounts_under "$RUN"); do umount "$m" 2>/dev/null || umount -l "$m"; done
  # never follow a bind mount of /dev into the host: delete only when nothing is mounted below RUN any more
  if [[ -z $(mounts_under "$RUN") ]]; then rm -rf --one-file-system "$RUN"; else echo "deb-install: $RUN still has mounts, left in place"; fi
  rmdir "/run/systemd/nspawn/propagate/$MACHINE" 2>/dev/null
  echo "deb-install.sh took $(($(date +%s) - STARTED_AT)) s"
}
on_exit_run cleanup # (then the namespaces: on_exit_netns)
on_exit_netns "$NA" "$NB"
fatal() { echo "FAIL $1"; exit 1; }

need_tools debootstrap dpkg-deb objdump ip /usr/lib/ipsec/charon swanctl ping groff nsenter
[[ $NATIVE != *.dll ]] || fatal "setup: the package holds the NativeAOT executable, not $NATIVE (publish with -r linux-x64)"

# ---- 1. build the package ----
if [[ -x $NATIVE ]]; then out=$("$REPO/packaging/build-deb.sh" "$(dirname "$NATIVE")" 2>"$RUN/build.log")
else out=$("$REPO/packaging/build-deb.sh" 2>"$RUN/build.log"); fi
rc=$?
DEB=$(tail -1 <<<"$out")
[[ $rc -eq 0 && $DEB == /*.deb && -f $DEB ]]
rc=$? # before the name: a command substitution in it would set $? again
result "packaging/build-deb.sh builds the .deb and prints its path as its last line ($(basename "$DEB"))" $rc
[[ -f $DEB ]] || { cat "$RUN/build.log"; exit 1; }
VERSION=$(dpkg-deb -f "$DEB" Version)
depends=$(dpkg-deb -f "$DEB" Depends) conflicts=$(dpkg-deb -f "$DEB" Conflicts)
[[ $depends == *"libc6 (>= 2."* && $depends == *libssl3* && $depends == *strongswan-swanctl* ]] \
  && [[ $conflicts == *charon-systemd* && $conflicts == *strongswan-charon* ]] \
  && [[ $conflicts != *swanctl* && $conflicts != *pki* && $conflicts != *strongswan-starter* ]]
result "control: Depends $depends; Conflicts $conflicts (not strongswan-swanctl, strongswan-pki)" $?

# ---- 2. a clean Debian 12 root ----
MIRROR=${OAKLEY_DEB_MIRROR:-$(awk '/^URIs:/ {u = $2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == "bookworm") {print u; exit}}' \
  /etc/apt/sources.list.d/debian.sources 2>/dev/null)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
t0=$(date +%s)
timeout 300 debootstrap --variant=minbase --include=systemd,systemd-sysv bookworm "$ROOT" "$MIRROR" >"$RUN/debootstrap.log" 2>&1
rc=$?
result "debootstrap --variant=minbase bookworm from $MIRROR ($(($(date +%s) - t0)) s)" $rc
[[ $rc -eq 0 ]] || { tail -20 "$RUN/debootstrap.log"; exit 1; }
# in_root CMD...: runs CMD in the root (at most 240 s: apt-get from the mirror is the slowest step).
in_root() { timeout 240 chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

# ---- 3. apt-get install ./oakley.deb, dependencies from the mirror ----
cp "$DEB" "$ROOT/tmp/"
t0=$(date +%s)
{ in_root apt-get update -q && in_root apt-get install -y -q "/tmp/$(basename "$DEB")"; } >"$RUN/apt.log" 2>&1
rc=$?
result "apt-get install ./$(basename "$DEB") in the clean root ($(($(date +%s) - t0)) s)" $rc
[[ $rc -eq 0 ]] || { tail -30 "$RUN/apt.log"; exit 1; }

# ---- 4. what it installed ----
[[ $(readlink -f "$ROOT/usr/sbin/oakley") == "$ROOT/usr/lib/oakley/oakley" && -f $ROOT/usr/lib/oakley/libsodium.so ]]
result "/usr/sbin/oakley -> /usr/lib/oakley/oakley, libsodium.so next to it" $?
dotnet_files=$(find "$ROOT" -xdev \( -name 'libcoreclr.so' -o -name 'System.Private.CoreLib.dll' -o -name dotnet \) 2>/dev/null | head -3)
version=$(in_root oakley --version 2>&1)
help=$(in_root oakley --help 2>&1)
[[ -z $dotnet_files && $version == "${VERSION%-*}"* && $help == *"run the IKE daemon"* && $help == *list-sas* ]]
result "no .NET in the root; oakley --version says $version, --help lists the commands" $?
mount -t proc proc "$ROOT/proc" && mount --bind /dev "$ROOT/dev" || fatal "setup: cannot mount /proc and /dev in the root"
make_pair "$NA" "$NB" "vA$ID" "vB$ID" || fatal "setup: cannot create namespaces"
timeout 120 ip netns exec "$NA" chroot "$ROOT" oakley demo >"$RUN/demo.log" 2>&1
result "the installed oakley runs its demo in the root (libsodium and OpenSSL found at run time)" $?
umount "$ROOT/dev" && umount "$ROOT/proc"

man_ok=0
for page in oakley oakley-daemon; do
  f=$ROOT/usr/share/man/man8/$page.8.gz
  warnings=$(zcat "$f" 2>&1 | groff -man -Tutf8 -ww -z 2>&1)
  text=$(MANWIDTH=80 man -l "$f" 2>/dev/null)
  [[ -f $f && -z $warnings && $text == *NAME* && $text == *"$page"* ]] || { man_ok=1; echo "$page.8: $warnings"; }
done
result "man pages oakley(8) and oakley-daemon(8) installed, render without groff warnings" $man_ok
# Every option of `oakley daemon --help` and every command of `oakley --help` is in the man pages (catches drift).
daemon_page=$(zcat "$ROOT/usr/share/man/man8/oakley-daemon.8.gz" | sed 's/\\-/-/g')
main_page=$(zcat "$ROOT/usr/share/man/man8/oakley.8.gz" | sed 's/\\-/-/g')
missing=()
for opt in $(in_root oakley daemon --help | grep -oE '^ +--[a-z-]+' | tr -d ' '); do
  [[ $daemon_page == *"$opt"* ]] || missing+=("daemon $opt")
done
for cmd in $(in_root oakley --help | awk '/^Commands:/ {f = 1; next} f && NF {print $1}'); do
  [[ $main_page == *"$cmd"* ]] || missing+=("command $cmd")
done
[[ ${#missing[@]} -eq 0 ]]
result "the man pages name every daemon option and command of --help${missing[*]:+ (missing: ${missing[*]})}" $?

cmp -s "$ROOT/lib/systemd/system/oakley.service" "$REPO/packaging/oakley.service" \
  && [[ -L $ROOT/etc/systemd/system/multi-user.target.wants/oakley.service ]]
result "oakley.service installed as packaging/oakley.service and enabled by postinst" $?
owner=$(in_root dpkg-query -S /etc/swanctl/swanctl.conf 2>/dev/null | cut -d: -f1)
active=$(grep -vE '^\s*(#|$)' "$ROOT/etc/swanctl/conf.d/oakley-example.conf")
[[ $owner == strongswan-swanctl ]] && grep -q '^include conf.d/\*.conf' "$ROOT/etc/swanctl/swanctl.conf" \
  && grep -qx /etc/swanctl/conf.d/oakley-example.conf "$ROOT/var/lib/dpkg/info/oakley.conffiles" && [[ -z $active ]]
result "/etc/swanctl: swanctl.conf is strongswan-swanctl's (includes conf.d), conf.d/oakley-example.conf Oakley's commented conffile" $?
[[ -s $ROOT/usr/share/doc/oakley/copyright ]] && zcat "$ROOT/usr/share/doc/oakley/changelog.Debian.gz" | grep -q "^oakley ($VERSION)"
result "/usr/share/doc/oakley: copyright and changelog.Debian.gz ($VERSION)" $?
in_root apt-get install -s -y strongswan-pki >"$RUN/pki.log" 2>&1
result "strongswan-pki installs next to oakley (apt-get -s)" $?

# ---- 5. the tunnel: the packaged daemon in A, strongSwan in B ----
# Oakley's side is the example, uncommented as its header says (192.0.2.1, 198.51.100.0/24 <-> 192.0.2.2, 203.0.113.0/24).
sed -e '/^##/d' -e 's/^#//' "$ROOT/etc/swanctl/conf.d/oakley-example.conf" >"$ROOT/etc/swanctl/conf.d/tunnel.conf"
chmod 600 "$ROOT/etc/swanctl/conf.d/tunnel.conf"
SECRET=$(sed -n 's/^ *secret = "\(.*\)"/\1/p' "$ROOT/etc/swanctl/conf.d/tunnel.conf")
mkdir -p "$RUN/sw/swanctl"
cat >"$RUN/sw/swanctl/swanctl.conf" <<CONF
connections {
  site-to-site {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = gw2.example
    }
    remote {
      auth = psk
      id = gw1.example
    }
    children {
      net {
        local_ts = 203.0.113.0/24
        remote_ts = 198.51.100.0/24
        esp_proposals = aes256gcm16
      }
    }
  }
}
secrets {
  ike {
    id-gw1 = gw1.example
    id-gw2 = gw2.example
    secret = "$SECRET"
  }
}
CONF
launch_charon "$NB" "$RUN/sw" || fatal "setup: charon did not start"
CHARON_PID=$CHARON_STARTED
SW() { swanctl_in "$NB" "$RUN/sw" "$@"; }
SW --load-all >"$RUN/load.out" 2>&1 || { cat "$RUN/load.out"; fatal "setup: swanctl --load-all"; }

# The unit's ExecStart and its control socket (--control, else the daemon's default).
EXEC=$(sed -n 's/^ExecStart=[-@:+!]*//p' "$ROOT/lib/systemd/system/oakley.service" | head -1)
CTL=$(sed -nE 's/.*--control[= ]([^ ]+).*/\1/p' <<<"$EXEC")
CTL=${CTL:-/var/run/charon.vici}

booted=1
if command -v systemd-nspawn >/dev/null; then
  # --register=no --keep-unit: this machine's PID 1 is not systemd, so there is no machined or scope to ask for.
  systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit -M "$MACHINE" --network-namespace-path="/run/netns/$NA" \
    --bind=/dev/net/tun --capability=CAP_NET_ADMIN >"$RUN/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  # the container's PID 1 (systemd) is nspawn's child; commands enter all its namespaces and its root
  for _ in $(seq 100); do LEADER=$(pgrep -P "$NSPAWN_PID" -x systemd | head -1); [[ -n $LEADER ]] && break; sleep 0.1; done
  in_ct() { timeout 60 nsenter -t "$LEADER" -m -u -i -n -p -r -w env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
  state=
  # until the boot is done: "running", or "degraded" if some unit of the minimal root failed (the bus socket
  # appears a few seconds in; before that systemctl says it cannot connect)
  for _ in $(seq 90); do
    [[ -n $LEADER ]] && kill -0 "$NSPAWN_PID" 2>/dev/null || break
    state=$(in_ct systemctl is-system-running 2>&1)
    [[ $state == running || $state == degraded ]] && { booted=0; break; }
    sleep 1
  done
  if [[ $booted -ne 0 ]]; then
    echo "note: systemd-nspawn could not boot the root here (state '${state:-no container}'); falling back to the unit's ExecStart in a chroot"
    tail -20 "$RUN/nspawn.log"
    stop_pid "$NSPAWN_PID" 30; NSPAWN_PID=
  fi
else
  echo "FAIL setup: systemd-nspawn is missing (package systemd-container); falling back to the unit's ExecStart in a chroot"
  failures=$((failures + 1))
fi

if [[ $booted -eq 0 ]]; then
  active=
  for _ in $(seq 60); do active=$(in_ct systemctl is-active oakley.service 2>&1); [[ $active == activating ]] || break; sleep 1; done
  show=$(in_ct systemctl show -p Type -p ActiveState -p SubState -p MainPID oakley.service 2>&1)
  MAINPID=$(sed -n 's/^MainPID=//p' <<<"$show")
  exe=$(in_ct readlink "/proc/$MAINPID/exe" 2>/dev/null)
  [[ $active == active && $show == *Type=notify* && $exe == /usr/lib/oakley/oakley ]]
  result "systemd (nspawn --boot) starts oakley.service: $active after READY=1 (Type=notify), main process $exe" $?
  [[ $active == active ]] || { in_ct systemctl status oakley.service --no-pager 2>&1 | tail -20; in_ct journalctl -u oakley --no-pager 2>&1 | tail -20; }
else
  # The unit's ExecStart, as systemd would run it, from the installed root in namespace A.
  mount -t proc proc "$ROOT/proc" && mount --bind /dev "$ROOT/dev" || fatal "setup: cannot mount /proc and /dev in the root"
  # shellcheck disable=SC2086 # ExecStart is split into words as systemd splits it (no quotes in this unit)
  ip netns exec "$NA" chroot "$ROOT" $EXEC >"$RUN/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do [[ -S $ROOT$CTL ]] && break; sleep 0.1; done
  in_ct() { ip netns exec "$NA" chroot "$ROOT" "$@"; }
  MAINPID=$DAEMON_PID
  [[ -S $ROOT$CTL ]]
  result "the unit's ExecStart ($EXEC) runs from the installed root and opens $CTL" $?
fi

in_ct oakley initiate --child net --timeout 20 --control "$CTL" >"$RUN/initiate.out" 2>&1 \
  && SW --list-sas 2>/dev/null | grep -q INSTALLED
result "the packaged daemon brings up the CHILD SA with strongSwan (oakley initiate, swanctl shows it INSTALLED)" $?
# strongswan-swanctl (a Depends) reaches the packaged daemon on its default socket, with no --uri
in_ct swanctl --list-sas >"$RUN/swanctl-local.out" 2>&1 && grep -q "site-to-site: .*ESTABLISHED" "$RUN/swanctl-local.out" \
  && grep -q "INSTALLED" "$RUN/swanctl-local.out"
result "the root's swanctl --list-sas (no --uri) lists the daemon's IKE and CHILD SAs over $CTL" $?
ip netns exec "$NA" ping -c 3 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >"$RUN/ping1.out" 2>&1
result "ping 198.51.100.1 -> 203.0.113.1 through the tunnel" $?
ip netns exec "$NB" ping -c 3 -i 0.2 -W 2 -I 203.0.113.1 198.51.100.1 >"$RUN/ping2.out" 2>&1
result "ping 203.0.113.1 -> 198.51.100.1 through the tunnel" $?
# (in the chroot fallback the daemon's mount namespace is not the reader's: read its maps from here)
if [[ $booted -eq 0 ]]; then maps=$(in_ct cat "/proc/$MAINPID/maps" 2>/dev/null); else maps=$(cat "/proc/$MAINPID/maps" 2>/dev/null); fi
[[ $maps == *"/usr/lib/oakley/libsodium.so"* && $maps == *"libcrypto.so.3"* ]]
result "the running daemon has /usr/lib/oakley/libsodium.so and the root's libcrypto.so.3 mapped" $?
! grep -rqs "$SECRET" "$RUN/daemon.log" && ! { [[ $booted -eq 0 ]] && in_ct journalctl -u oakley --no-pager 2>/dev/null | grep -q "$SECRET"; }
result "the pre-shared key is not in the daemon's log" $?

if [[ $booted -eq 0 ]]; then
  in_ct systemctl reload oakley.service >"$RUN/reload.out" 2>&1
  rc=$?
  sleep 1
  journal=$(in_ct journalctl -u oakley --no-pager 2>&1)
  [[ $rc -eq 0 && $(in_ct systemctl is-active oakley.service) == active && $journal == *"SIGHUP received"* ]]
  rc=$?
  result "systemctl reload oakley: SIGHUP reloads, the service stays active, the journal has the daemon's lines" $rc
  [[ $rc -ne 0 || -n ${VERBOSE:-} ]] && { cat "$RUN/reload.out"; echo "$journal" | tail -25; }
  # The upgrade path under systemd: dpkg installs the package over itself (prerm upgrade, postinst configure with the
  # old version), postinst restarts the service; the peer's tunnel comes up again.
  cp "$DEB" "$ROOT/root/" # (the container's /tmp is a tmpfs of its own)
  in_ct dpkg -i "/root/$(basename "$DEB")" >"$RUN/upgrade.log" 2>&1
  rc=$?
  new_pid=$(in_ct systemctl show -p MainPID --value oakley.service 2>/dev/null)
  [[ $rc -eq 0 && $(in_ct systemctl is-active oakley.service) == active && -n $new_pid && $new_pid != "$MAINPID" ]] \
    && in_ct oakley initiate --child net --timeout 20 --control "$CTL" >"$RUN/initiate2.out" 2>&1 \
    && ip netns exec "$NA" ping -c 2 -i 0.2 -W 2 -I 198.51.100.1 203.0.113.1 >/dev/null 2>&1
  rc=$?
  result "dpkg -i over the installed package (an upgrade): postinst restarts oakley.service (main PID $MAINPID -> $new_pid), the tunnel comes up again" $rc
  [[ $rc -ne 0 ]] && tail -5 "$RUN/upgrade.log"
  in_ct systemctl stop oakley.service >"$RUN/stop.out" 2>&1
  gone=1
  for _ in $(seq 50); do SW --list-sas 2>/dev/null | grep -q ESTABLISHED || { gone=0; break; }; sleep 0.2; done
  [[ $gone -eq 0 && $(in_ct systemctl is-active oakley.service) == inactive ]] && ! ip -n "$NA" link show oakley0 >/dev/null 2>&1
  result "systemctl stop oakley: the IKE SA is deleted with strongSwan, the unit inactive, the TUN device gone" $?
  stop_pid "$NSPAWN_PID" 30; NSPAWN_PID=
else
  stop_pid "$DAEMON_PID" 5; DAEMON_PID=
  umount "$ROOT/dev"; umount "$ROOT/proc"
fi

# ---- 6. removing and purging ----
in_root apt-get remove -y -q oakley >"$RUN/remove.log" 2>&1
rc=$?
[[ $rc -eq 0 && ! -e $ROOT/usr/sbin/oakley && ! -e $ROOT/lib/systemd/system/oakley.service ]] \
  && [[ -f $ROOT/etc/swanctl/conf.d/oakley-example.conf && -f $ROOT/etc/swanctl/swanctl.conf ]]
result "apt-get remove oakley: executable and unit gone, the configuration stays" $?
in_root apt-get purge -y -q oakley >"$RUN/purge.log" 2>&1
rc=$?
[[ $rc -eq 0 && ! -e $ROOT/etc/swanctl/conf.d/oakley-example.conf && ! -e $ROOT/etc/systemd/system/multi-user.target.wants/oakley.service ]] \
  && [[ -f $ROOT/etc/swanctl/swanctl.conf && -f $ROOT/etc/swanctl/conf.d/tunnel.conf ]]
result "apt-get purge oakley: example and enablement gone; strongswan-swanctl's swanctl.conf and the admin's tunnel.conf stay" $?

((failures > 0)) && for f in build.log apt.log initiate.out daemon.log nspawn.log; do [[ -s $RUN/$f ]] && { echo "--- $f"; tail -15 "$RUN/$f"; }; done
((failures > 0)) && [[ -s $RUN/sw/charon.log ]] && { echo "--- charon.log"; tail -20 "$RUN/sw/charon.log"; }
exit $((failures > 0))
