#!/usr/bin/env bash
# Oakley's one test command: installs what the tests need (as root), builds in Release, runs every
# test project, prints a per-project summary and, as its very last line, "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

# ---- 1. prerequisites -------------------------------------------------------------------------
# Debian packages the test suites need. Later suites (interop in network namespaces) add to this list.
APT_PACKAGES=(ca-certificates iproute2 iputils-ping strongswan-charon strongswan-swanctl libstrongswan-standard-plugins
  libstrongswan-extra-plugins libcharon-extra-plugins libcharon-extauth-plugins strongswan-pki tshark iperf3 jq nftables conntrack tcpdump
  clang zlib1g-dev # clang and zlib: the NativeAOT publish of the daemon (step 4)
  unbound ldnsutils # a validating DNS resolver and zone signing: interop/ikev2-ipseckey.sh
  freeradius # a RADIUS server for the eap-radius relay and accounting: interop/radius-freeradius.sh
  systemd util-linux # systemd-analyze verify/security, setpriv and unshare: interop/systemd.sh
  prometheus curl # promtool and a scraper: interop/metrics.sh
  debootstrap systemd-container binutils man-db groff-base procps) # the Debian package in a fresh root: interop/deb-install.sh
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || { echo "test.sh: apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
  fi
fi
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is not on PATH"; echo "0 passed, 1 failed"; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ---- 2. build -------------------------------------------------------------------------------
echo "test.sh: building (Release)"
if ! dotnet build Oakley.slnx -c Release -nologo -v:q -clp:ErrorsOnly; then
  echo "test.sh: build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# ---- 3. tests -------------------------------------------------------------------------------
total_pass=0 total_fail=0 total_skip=0
summary=()
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for proj in tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  log="$results/$name.log"
  echo "test.sh: running $name"
  dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=minimal" >"$log" 2>&1
  rc=$?
  line=$(grep -E "(Passed|Failed)! +- +Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" | tail -1)
  if [[ -z "$line" ]]; then
    # No summary: the test host crashed or did not start. That is a failure, never a skip.
    tail -30 "$log"
    summary+=("$(printf '%-32s %s' "$name" "no result (exit $rc): counted as 1 failed")")
    total_fail=$((total_fail + 1))
    continue
  fi
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
  p=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  if ((f > 0)) || ((rc != 0)); then
    grep -E "^\s+Failed |Error Message|Assert|Exception" "$log" | head -60
    if ((f == 0)); then f=1; fi
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "$name" "$p" "$f" "$s")")
done

# ---- 4. the README demo: two Oakley peers on loopback (real UDP) must negotiate IKE and CHILD SAs ------------
echo "test.sh: running the demo"
if timeout 120 dotnet src/Oakley.Cli/bin/Release/net10.0/oakley.dll demo >"$results/demo.log" 2>&1; then
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "demo" 1 0 0)")
  total_pass=$((total_pass + 1))
else
  cat "$results/demo.log"
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "demo" 0 1 0)")
  total_fail=$((total_fail + 1))
fi

# ---- 4b. the daemon as users run it: the NativeAOT publish must build, run the demo and, as root, interoperate ----
native=artifacts/native/oakley
if [[ $(id -u) -ne 0 ]] && ! command -v clang >/dev/null; then
  echo "test.sh: not root and no clang: the NativeAOT publish (needs clang and zlib1g-dev) is skipped"
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "native demo" 0 0 1)")
  total_skip=$((total_skip + 1))
elif echo "test.sh: publishing the native daemon (NativeAOT)" && dotnet publish src/Oakley.Cli -c Release -r linux-x64 -o artifacts/native -nologo -v:q -clp:ErrorsOnly >"$results/publish.log" 2>&1 \
  && timeout 120 "$native" demo >"$results/native-demo.log" 2>&1; then
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "native demo" 1 0 0)")
  total_pass=$((total_pass + 1))
else
  cat "$results/publish.log" "$results/native-demo.log" 2>/dev/null | tail -40
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "native demo" 0 1 0)")
  total_fail=$((total_fail + 1))
fi

# ---- 5. interop with strongSwan in network namespaces (needs root) ------------------------------------------
# interop NAME SCRIPT [ARG]: runs one interop script; its PASS/FAIL lines are the counts (none at all, or a non-zero
# exit without a FAIL line, is a failure).
interop() {
  echo "test.sh: running $1"
  timeout 600 "${@:2}" >"$results/interop.log" 2>&1
  local rc=$? p f
  p=$(grep -c '^PASS ' "$results/interop.log")
  f=$(grep -c '^FAIL ' "$results/interop.log")
  # No lines at all, or a script that stopped early (set-up failed, timeout) with no FAIL line: one failure.
  if ((p + f == 0 || (rc != 0 && f == 0))); then
    f=$((f + 1))
    echo "FAIL $1: the script exited with status $rc" >>"$results/interop.log"
  fi
  grep -E '^(PASS|FAIL) ' "$results/interop.log" | sed 's/^/  /'
  ((f > 0)) && tail -80 "$results/interop.log"
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "$1" "$p" "$f" 0)")
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}
if [[ $(id -u) -eq 0 ]]; then
  for script in tests/interop/*.sh; do
    [[ $(basename "$script") == lib.sh ]] && continue # shared functions, sourced by the scripts
    interop "interop/$(basename "$script" .sh)" "$script"
  done
  # The native daemon against strongSwan: the basic interop suite once more, with the published executable.
  interop "interop/ikev2-psk (native)" tests/interop/ikev2-psk.sh "$PWD/$native"
else
  n=$(ls tests/interop/*.sh | wc -l)
  echo "test.sh: not root: the $n interop suite(s) need network namespaces and are skipped"
  summary+=("$(printf '%-32s %5d passed, %d failed, %d skipped' "interop" 0 0 "$n")")
  total_skip=$((total_skip + n))
fi

echo
echo "== summary =="
printf '%s\n' "${summary[@]}"
if ((total_skip > 0)); then
  echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
  echo "$total_pass passed, $total_fail failed"
fi
((total_fail == 0))
