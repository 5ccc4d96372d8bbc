#!/usr/bin/env bash
# The reproduction tests (../shared/FIELD-NOTES.md §1-§5): each field failure
# replayed the old way with the real tools and then with pipewright, inside a
# throwaway sandbox (scripts/sandbox.sh), with a report at the end.
#
#   scripts/repro.sh [--json] [NAME...]      (npm run repro [-- --json] [-- NAME...])
#
# Exit status 0 when every scenario passed, 1 when one failed, 2 on misuse.
set -euo pipefail
cd "$(dirname "$0")/.."

for a in "$@"; do
  case "$a" in
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
done

# The scenarios run from the compiled library: rebuild it when a source is newer.
if [ ! -f dist/lib/repro/index.js ] || [ -n "$(find lib -name '*.ts' -newer dist/lib/repro/index.js -print -quit)" ]; then
  npx --no-install tsc -p . >&2
fi

exec scripts/sandbox.sh node -e '
const [dir, ...args] = process.argv.slice(1);
const json = args.includes("--json");
const names = args.filter((a) => !a.startsWith("-"));
const bad = args.filter((a) => a.startsWith("-") && a !== "--json");
if (bad.length) { console.error(`unknown option ${bad[0]} (usage: repro.sh [--json] [NAME...])`); process.exit(2); }
require(dir).runRepro(names, { json }).then(
  (r) => process.exit(r.ok ? 0 : 1),
  (e) => { console.error(e.code ? `${e.code}: ${e.message}` : e); process.exit(2); });
' "$PWD/dist/lib/repro" "$@"
