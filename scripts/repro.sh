#!/usr/bin/env bash
# The reproduction tests (../shared/FIELD-NOTES.md): each field failure
# replayed the old way with the real tools and then with pipewright, inside a
# throwaway sandbox, with a report at the end. Same as `pipewright repro`.
#
#   scripts/repro.sh [--json] [NAME...]      (npm run repro [-- --json] [-- NAME...])
#
# Exit status 0 when every scenario passed, 5 when one failed, 2 on misuse.
set -euo pipefail
cd "$(dirname "$0")/.."

# The scenarios run from the compiled library: rebuild it when a source is newer.
if [ ! -f dist/cli/pipewright.js ] || [ -n "$(find lib -name '*.ts' -newer dist/cli/pipewright.js -print -quit)" ]; then
  npm run --silent build:ts >&2
fi
exec node dist/lib/cli/launch.js repro "$@"
