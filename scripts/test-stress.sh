#!/usr/bin/env bash
# The whole test suite, several times in a row, while a CPU hog keeps every
# CPU busy: a test that passes only on an idle machine fails here.
#
#   scripts/test-stress.sh [RUNS]        (npm run test:stress [-- RUNS]; default 3)
#
# The hog is one busy shell loop per CPU (no package needed), at normal
# priority, started before the first run and killed, by its own PIDs, when
# this script ends however it ends (they also die with it: --pdeathsig).
# Each run is `scripts/sandbox.sh tap`, as in `npm test` (whose dependency
# install and type check run once, first). Every run's output is kept in a
# log whose path is printed. Exit status: 0 when every run passed, 1 if any
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 2; }
cpus=$(nproc)
logs=$(mktemp -d "${TMPDIR:-/tmp}/pw-stress.XXXXXX")
say() { echo "test-stress: $*" >&2; }
now() { date +%s; }

hogs=()
stop_hogs() {
  for p in ${hogs[@]+"${hogs[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${hogs[@]+"${hogs[@]}"}; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/install-test-deps.sh
npm run --silent typecheck

for _ in $(seq "$cpus"); do
  setpriv --pdeathsig KILL sh -c 'while :; do :; done' &
  hogs+=($!)
done
say "CPU hog: ${#hogs[@]} busy loops (one per CPU), pids ${hogs[*]}"

failed=0
start=$(now)
for i in $(seq "$runs"); do
  log="$logs/run-$i.log"
  t0=$(now)
  rc=0
  scripts/sandbox.sh npx tap > "$log" 2>&1 || rc=$?
  summary=$(grep -E '^# \{ total' "$log" | tail -1 || true)
  say "run $i/$runs: exit $rc in $(( $(now) - t0 )) s ${summary:-(no summary: see $log)}"
  if [ "$rc" != 0 ]; then
    failed=$((failed + 1))
    grep -E '^ *not ok ' "$log" | head -40 >&2 || true
  fi
done
stop_hogs
say "$((runs - failed))/$runs runs passed in $(( $(now) - start )) s under a ${cpus}-CPU hog; logs in $logs"
[ "$failed" = 0 ]
