#!/usr/bin/env bash
# Runs the tests against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer, inside scripts/sandbox.sh. Fails if a test
# fails or if any sanitizer report appears anywhere (a report from a process
# that still exited 0 counts too).
#
#   scripts/asan.sh [TEST FILES...]    default: test/unit/*.test.ts test/live/*.test.ts
#
# The sanitized addon is built in its own directory, $PW_ASAN_DIR (default
# node_modules/.cache/pipewright/asan): node-gyp always builds into ./build,
# so that directory holds a copy of binding.gyp and a link to native/, and
# build/Release (the normal addon) is never touched. The tests load it
# through PW_ADDON_PATH (lib/native.ts). Rebuilds there are incremental.
#
# node is not built with the sanitizers, so their runtimes are preloaded into
# every process of the run. Leak checking is off (detect_leaks=0): node and
# V8 deliberately leave memory allocated at exit, and suppressions cannot
# separate that from the addon's leaks, because every allocation the addon
# makes has node frames on its stack and a suppression matches any frame.
# scripts/fuzz-decoders.sh checks the decoders for leaks in a plain binary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${PW_ASAN_DIR:-$root/node_modules/.cache/pipewright/asan}

if [ $# -gt 0 ]; then tests=("$@"); else tests=(test/unit/*.test.ts test/live/*.test.ts); fi

mkdir -p "$dir"
# Objects built from another checkout's sources would look up to date to make.
[ "$(readlink "$dir/native" 2>/dev/null)" = "$root/native" ] || rm -rf "$dir/build"
cp binding.gyp "$dir/binding.gyp"
ln -sfn "$root/native" "$dir/native"
# npx: node-gyp gets npm's configuration (nodedir) as under `npm run`.
# binding.gyp adds -fsanitize=address,undefined when PW_SANITIZE is set at
# configure time. NODE_PATH: binding.gyp finds node-addon-api with require(),
# which must work from a $PW_ASAN_DIR outside this tree too.
PW_SANITIZE=1 NODE_PATH=$root/node_modules npx node-gyp configure --directory "$dir"
npx node-gyp build --directory "$dir" --jobs "$(nproc)"
addon=$dir/build/Release/pipewright.node
# (grep without -q: an early exit would fail nm with SIGPIPE under pipefail.)
if ! nm -D "$addon" | grep __asan_report_load4 >/dev/null; then
  echo "asan: $addon is not instrumented (did binding.gyp's PW_SANITIZE condition apply?)" >&2
  exit 1
fi

# The runtimes the addon was linked against (g++ builds it, as node-gyp does).
asan_rt=$(g++ -print-file-name=libasan.so)
ubsan_rt=$(g++ -print-file-name=libubsan.so)
logs=$dir/logs
rm -rf "$logs"
mkdir -p "$logs"

# Reports go to files (log_path, one per process) as well as to the output:
# tap runs each test file as a child process, and this way no report depends
# on how a child's stderr is relayed. Both runtimes get the same log_path:
# GCC's libasan carries UBSan handlers too, and which runtime's flags win
# for a given report is not something to rely on. halt_on_error: the first
# report ends the process, so its test file fails as well.
export PW_ADDON_PATH=$addon
export LD_PRELOAD=$asan_rt:$ubsan_rt
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/sanitizer
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/sanitizer
echo "asan: ${#tests[@]} test files against $addon"
set +e
# The sanitizers make native code several times slower: more time per file.
scripts/sandbox.sh npx tap --timeout=600 "${tests[@]}" 2>&1 | tee "$logs/output.txt"
status=${PIPESTATUS[0]}
set -e
unset LD_PRELOAD

reports=$(grep -l -E 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$logs"/* 2>/dev/null || true)
if [ -n "$reports" ]; then
  for f in $reports; do
    [ "$f" = "$logs/output.txt" ] && continue
    echo "===== $f" >&2
    cat "$f" >&2
  done
  echo "asan: FAILED: sanitizer reports in: $reports" >&2
  exit 1
fi
if [ "$status" != 0 ]; then
  echo "asan: FAILED: the tests failed (exit $status); no sanitizer report was written" >&2
  exit "$status"
fi
echo "asan: clean: all tests passed with no AddressSanitizer or UndefinedBehaviorSanitizer report"
