#!/usr/bin/env bash
# npm run prebuilds (run by `npm pack` through "prepack"): the addon compiled
# for linux-x64 and linux-arm64 (glibc) into prebuilds/<platform>-<arch>/
# pipewright.glibc.node, where node-gyp-build finds it at install and at run
# time, and the engine's native client beside it (pipewright-fast). One N-API build serves every Node >= 20, so one file per architecture.
# The other architecture is cross-compiled with Debian's g++ for it
# (g++-aarch64-linux-gnu or g++-x86-64-linux-gnu; scripts/install-test-deps.sh
# installs it). Node's headers come from this Node's own install (or from
# npm's nodedir): nothing is downloaded. The host's architecture is built
# last, so build/Release ends up holding this machine's addon, as before.
# musl is not built: Debian has no C++ toolchain for musl (musl-tools is a C
# wrapper only), so Alpine users compile at install (the fallback).
set -euo pipefail
cd "$(dirname "$0")/.."

triplet() {
  case "$1" in
    x64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) echo "prebuild: no cross toolchain known for $1" >&2; return 1 ;;
  esac
}

host=$(node -p process.arch)
version=$(node -p process.versions.node)
nodedir=$(node -p "require('path').resolve(process.execPath, '..', '..')")
if [ -e "$nodedir/include/node/node_api.h" ]; then
  export npm_config_nodedir="$nodedir"
elif [ -z "${npm_config_nodedir:-}" ]; then
  echo "prebuild: no Node headers beside $(command -v node) and no npm nodedir: node-gyp would download them" >&2
fi

# The boundary's generated C++ (native/op_table_gen.*) from lib/core/op-table.json
# first: npm pack runs this (prepack) before "prepare" regenerates anything.
# It rewrites a file only when it changed, so an unchanged table keeps prebuilds fresh.
node scripts/gen-op-table.js

archs=(x64 arm64)
# Up to date: a prebuilt newer than every input is kept (npm pack runs this each time).
inputs=(binding.gyp native/*.cc native/*.h native/client/*.cc native/client/*.h)
fresh() {
  local f="prebuilds/linux-$1/pipewright.glibc.node" i
  [ -e "$f" ] && [ -e "prebuilds/linux-$1/pipewright-fast" ] || return 1
  for i in "${inputs[@]}"; do [ "$i" -nt "$f" ] && return 1; done
  return 0
}
export JOBS="${JOBS:-max}"
# node-gyp's devdir for prebuildify: a cache, kept with our others rather
# than in prebuildify's default, the temporary directory, where it would
# stay behind after every pack (the tests' TMPDIR must be left empty).
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/pipewright/prebuildify"

order=()
for a in "${archs[@]}"; do [ "$a" = "$host" ] || order+=("$a"); done
order+=("$host")

for arch in "${order[@]}"; do
  if fresh "$arch"; then
    echo "prebuild: prebuilds/linux-$arch is up to date" >&2
    continue
  fi
  rm -rf "prebuilds/linux-$arch"
  if [ "$arch" = "$host" ]; then
    env -u CC -u CXX -u LINK -u AR npx prebuildify --napi --strip --tag-libc --target "node@$version" --arch "$arch" --cache "$cache"
  else
    t=$(triplet "$arch")
    if ! command -v "$t-g++" >/dev/null; then
      echo "prebuild: $t-g++ not found (apt-get install g++-${t%%-linux-gnu}-linux-gnu; scripts/install-test-deps.sh does)" >&2
      exit 1
    fi
    CC="$t-gcc" CXX="$t-g++" LINK="$t-g++" AR="$t-ar" PREBUILD_STRIP_BIN="$t-strip" \
      npx prebuildify --napi --strip --tag-libc --target "node@$version" --arch "$arch" --cache "$cache"
  fi
  # The engine's native client (binding.gyp's second target, static) goes
  # beside the addon: prebuildify packs only .node files. `pipewright engine
  # client` finds it there.
  strip_tool=strip
  [ "$arch" = "$host" ] || strip_tool="$(triplet "$arch")-strip"
  install -m 0755 build/Release/pipewright-fast "prebuilds/linux-$arch/pipewright-fast"
  "$strip_tool" "prebuilds/linux-$arch/pipewright-fast"
done
# prebuildify moved the host's build out of build/Release: put a copy back,
# where a checkout's tests and `node-gyp build` expect it.
if [ ! -e build/Release/pipewright.node ] && [ -d build/Release ]; then
  cp "prebuilds/linux-$host/pipewright.glibc.node" build/Release/pipewright.node
fi
ls -l prebuilds/*/ >&2
