#!/usr/bin/env bash
# Runs the tests against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer, inside scripts/sandbox.sh. Fails if a test
# fails or if any sanitizer report appears anywhere (a report from a process
# that still exited 0 counts too).
#
#   scripts/asan.sh [TEST FILES...]    default: test/unit/*.test.ts test/live/*.test.ts
#
# Everything lives in $PW_ASAN_DIR (default node_modules/.cache/pipewright/asan).
#
# The addon: node-gyp always builds into ./build, so that directory holds a
# copy of binding.gyp and a link to native/, and the sanitized build happens
# there; build/Release (the normal addon) is never touched. The tests load it
# through PW_ADDON_PATH (lib/core/native.ts). Rebuilds there are incremental.
#
# node: it is not built with the sanitizers, and their runtime must be loaded
# before everything else in the process. Preloading it (LD_PRELOAD) would do
# that for every program the tests start as well - ip, iptables, dnsmasq,
# the DHCP clients - and some of those hang under it (dnsmasq deadlocks in
# its start-up). So the runtimes are linked into a copy of node instead
# (patchelf --add-needed), which goes first on PATH; tap starts each test
# file with that same binary, and nothing else is affected.
#
# Leak checking is off (detect_leaks=0): node and V8 deliberately leave
# memory allocated at exit, and suppressions cannot separate that from the
# addon's leaks, because every allocation the addon makes has node frames on
# its stack and a suppression matches any frame. scripts/fuzz-decoders.sh
# checks the decoders for leaks in a plain binary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${PW_ASAN_DIR:-$root/node_modules/.cache/pipewright/asan}

if [ $# -gt 0 ]; then tests=("$@"); else tests=(test/unit/*.test.ts test/live/*.test.ts); fi

if ! command -v patchelf >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "asan: patchelf is missing (install it as root: apt-get install patchelf)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends patchelf >/dev/null
fi

# --- the sanitized addon ---
mkdir -p "$dir/bin"
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

# The CLI tests run the built CLI (dist/, and its bundle dist/cli/): build
# both from the current sources, so it too loads the addon named by
# PW_ADDON_PATH. (tsc alone would leave the bundle older than dist/lib, and
# the installed command would then run the slower unbundled modules.)
npm run --silent build:ts

# --- a node with the sanitizer runtimes linked in ---
# The runtimes g++ linked the addon against (node-gyp builds with g++);
# --add-needed puts them first in the load order, where ASan must be.
node_bin=$(command -v node)
if [ ! -x "$dir/bin/node" ] || [ "$node_bin" -nt "$dir/bin/node" ]; then
  cp "$node_bin" "$dir/bin/node.tmp"
  patchelf --add-needed "$(realpath "$(g++ -print-file-name=libubsan.so)")" "$dir/bin/node.tmp"
  patchelf --add-needed "$(realpath "$(g++ -print-file-name=libasan.so)")" "$dir/bin/node.tmp"
  mv "$dir/bin/node.tmp" "$dir/bin/node"
fi
export PATH=$dir/bin:$PATH

# --- the run ---
logs=$dir/logs
rm -rf "$logs"
mkdir -p "$logs"
# Reports go to files (log_path, one per process) as well as to the output:
# tap runs each test file as a child process, and this way no report depends
# on how a child's stderr is relayed. Both runtimes get the same log_path,
# as which runtime's flags govern a given report is not something to rely
# on. halt_on_error: the first report ends the process, so its test file
# fails as well.
export PW_ADDON_PATH=$addon
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/sanitizer
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/sanitizer
echo "asan: ${#tests[@]} test files against $addon, run by $dir/bin/node"
set +e
# The sanitizers make native code several times slower: more time per file.
scripts/sandbox.sh npx tap --timeout=600 "${tests[@]}" 2>&1 | tee "$logs/output.txt"
status=${PIPESTATUS[0]}
set -e

reports=$(grep -l -E 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$logs"/* 2>/dev/null || true)
if [ -n "$reports" ]; then
  for f in $reports; do
    [ "$f" = "$logs/output.txt" ] && continue  # already shown above
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
