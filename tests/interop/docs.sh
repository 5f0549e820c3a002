#!/usr/bin/env bash
# The documentation's own checks: runs the recipe "strongSwan peer in a network namespace" of docs/interop.md as
# written (its ```sh blocks in order, in one shell; only the namespace names and the working directory are made
# unique, and the apt-get line is skipped), and checks that every counter `oakley stats --json` prints is
# described in docs/operations.md. Prints "PASS name" / "FAIL name" lines; exits non-zero if any failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ID=$$
NA=drA$ID
NB=drB$ID
RUN=$(mktemp -d /tmp/oakley-docs.XXXXXX)
DIR=$RUN/recipe # created by the recipe's mkdir, removed by its teardown
failures=0
cleanup() {
  # Whatever the recipe left running in its namespaces (it ran only there), by PID.
  for ns in "$NA" "$NB"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
  done
  sleep 0.5
  for ns in "$NA" "$NB"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$RUN"
}
trap cleanup EXIT
result() { if [[ $2 -eq 0 ]]; then echo "PASS $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi; }
for tool in ip dotnet swanctl tcpdump jq ping; do command -v "$tool" >/dev/null || { echo "FAIL setup: $tool is missing"; exit 1; }; done
[[ -x /usr/lib/ipsec/charon ]] || { echo "FAIL setup: /usr/lib/ipsec/charon is missing"; exit 1; }

# The recipe's blocks, in order.
awk '/^## strongSwan peer in a network namespace/ { on = 1; next } on && /^## / { on = 0 } on' "$ROOT/docs/interop.md" \
  | awk '/^```sh$/ { b = 1; next } /^```$/ { b = 0; next } b' >"$RUN/body.sh"
vars='MOON=moon SUN=sun DIR=/tmp/oakley-interop'
teardown='kill $OAKLEY_PID; wait $OAKLEY_PID'
for line in "$vars" "$teardown"; do
  grep -qxF "$line" "$RUN/body.sh" || { echo "FAIL setup: the recipe no longer has the line: $line"; exit 1; }
done
awk -v vars="$vars" -v teardown="$teardown" -v mine="MOON=$NA SUN=$NB DIR=$DIR" -v stats="$RUN/stats.json" '
  $0 == vars { print mine; next }
  /^apt-get / { skip = 1 }
  skip { print "# " $0; if ($0 !~ /\\$/) skip = 0; next }
  $0 == teardown { print "$OAKLEY stats --json --control $DIR/moon/oakley.ctl > " stats }
  { print }' "$RUN/body.sh" >"$RUN/recipe.sh"
grep -q "^# apt-get" "$RUN/recipe.sh" || { echo "FAIL setup: the recipe's apt-get line was not found"; exit 1; }

# Run it: any failing command is reported; at the end, what the teardown left behind.
{
  echo "trap 'echo \"RECIPE-ERROR (exit \$?): \$BASH_COMMAND\"' ERR"
  echo "trap 'exit 1' TERM INT"
  echo 'finish() {'
  echo '  for p in ${OAKLEY_PID:-} ${SWAN_PID:-}; do kill -0 $p 2>/dev/null && echo "LEFT-RUNNING $p"; done'
  echo '  ip netns list | grep -qw -e "$MOON" -e "$SUN" && echo "LEFT-NAMESPACES"'
  echo '  [ -e "$DIR" ] && echo "LEFT-DIRECTORY"; return 0'
  echo '}'
  echo 'trap finish EXIT'
  cat "$RUN/recipe.sh"
} >"$RUN/run.sh"
(cd "$ROOT" && timeout 240 bash "$RUN/run.sh") >"$RUN/out.log" 2>&1
rc=$?
out=$RUN/out.log

result "recipe: every command succeeded (exit $rc)" $((rc != 0 || $(grep -c '^RECIPE-ERROR' "$out") > 0))
grep '^RECIPE-ERROR' "$out"
grep -q '^initiate completed successfully' "$out"
result "recipe: swanctl --initiate brought the tunnel up" $?
grep -q 'INSTALLED, TUNNEL-in-UDP' "$out"
result "recipe: strongSwan lists the CHILD SA as INSTALLED, TUNNEL-in-UDP" $?
pings=$(grep -cE '^[0-9]+ packets transmitted' "$out")
answered=$(grep -cE '^[0-9]+ packets transmitted, [0-9]+ received, 0% packet loss' "$out")
result "recipe: every ping answered ($answered of $pings ping runs, 5 expected)" $((pings != 5 || answered != 5))
grep -qE '192\.0\.2\.1\.4500 > 192\.0\.2\.2\.4500: UDP-encap: ESP' "$out" && grep -qE '192\.0\.2\.2\.4500 > 192\.0\.2\.1\.4500: UDP-encap: ESP' "$out"
result "recipe: tcpdump sees ESP in UDP 4500 both ways" $?
result "recipe: the teardown left no daemon, namespace or directory" "$(grep -cE '^LEFT-' "$out")"
grep -E '^LEFT-' "$out"

# Every counter of `oakley stats --json` is described in docs/operations.md (as `name`).
missing=()
if [[ -s $RUN/stats.json ]]; then
  while read -r key; do
    grep -qF "\`$key\`" "$ROOT/docs/operations.md" || missing+=("$key")
  done < <(jq -r '(keys[] | select(. != "ok")), (."esp-drops" | keys[])' "$RUN/stats.json")
  result "docs: every oakley stats counter is described in docs/operations.md${missing[*]:+ (missing: ${missing[*]})}" ${#missing[@]}
else
  result "docs: oakley stats --json answered during the recipe" 1
fi

((failures > 0)) && tail -60 "$out"
exit $((failures > 0))
