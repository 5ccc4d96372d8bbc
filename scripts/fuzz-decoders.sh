#!/usr/bin/env bash
# Fuzzes the rtnetlink decoders (link, address, route, neighbour) with
# libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer (+ leak
# checking, which works here because this is a plain binary, not node).
#
#   scripts/fuzz-decoders.sh [SECONDS]      default 60, or $PW_FUZZ_SECONDS
#
# Needs clang with libFuzzer (Debian: apt-get install clang-14 libclang-rt-14-dev).
# Everything lives in $PW_FUZZ_DIR (default node_modules/.cache/pipewright/fuzz):
# the corpus grows across runs, and a crashing input is saved as crashes/crash-*;
# replay one with: $PW_FUZZ_DIR/decode_fuzz $PW_FUZZ_DIR/crashes/crash-...
#
# Seeds are our own encoders' requests retyped as RTM_NEW* messages, plus what
# the kernel reports for a varied scene (bridge, veth, vxlan, vlan, macvlan,
# addresses, multipath routes, neighbours, FDB entries) that is built inside
# scripts/sandbox.sh, so the host's network is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

# Internal: runs inside the sandbox, builds the scene and dumps it as seeds.
if [ "${1:-}" = --kernel-seeds ]; then
  # The scene below changes the network: never outside the sandbox.
  [ "${PW_SANDBOXED:-}" = 1 ] || { echo "$0 --kernel-seeds: only inside scripts/sandbox.sh" >&2; exit 2; }
  # Best effort, one object at a time: a kernel without (say) 8021q still
  # yields seeds for everything else.
  try() { "$@" 2>/dev/null || echo "fuzz-decoders: seed scene: skipped '$*' (not supported here)" >&2; }
  try ip link add br0 type bridge stp_state 1 forward_delay 400
  try ip link set br0 up
  try ip link add vh1 type veth peer name vg1
  try ip link set vh1 master br0 up
  try ip link set vg1 up
  try ip link add d0 type veth peer name d0p
  try ip link set d0 up mtu 9000 alias 'seed link'
  try ip link set d0p up
  try ip link add i0 type ifb
  try ip addr add 10.0.0.1/24 broadcast + label br0:a dev br0
  try ip addr add 2001:db8::1/64 nodad dev br0
  try ip addr add 10.9.0.1 peer 10.9.0.2/32 dev d0
  try ip addr add 10.8.0.1/24 valid_lft 300 preferred_lft 100 dev d0
  try ip link add vx0 type vxlan id 42 local 10.0.0.1 dstport 4789 dev br0
  try ip link add vx1 type vxlan id 43 group 239.1.1.1 dev d0
  try ip link add vx6 type vxlan id 44 group ff05::100 dev d0
  try ip link add vx2 type vxlan id 45 remote 192.0.2.9 ttl 64 nolearning ageing 100
  try ip link add link d0 name v100 type vlan id 100 protocol 802.1ad
  try ip link add link d0 name mv0 type macvlan mode bridge
  try ip link add link d0 name mvt0 type macvtap mode vepa
  try ip route add 10.1.0.0/16 via 10.0.0.2 metric 10 mtu 1400
  try ip route add 10.2.0.0/16 nexthop via 10.0.0.2 weight 2 nexthop via 10.9.0.2 dev d0
  try ip route add 10.3.0.0/16 via inet6 2001:db8::2 dev br0
  try ip -6 route add 2001:db8:1::/48 via 2001:db8::2 table 1000
  try ip -6 route add 2001:db8:2::/48 nexthop via 2001:db8::2 dev br0 nexthop via 2001:db8::3 dev br0
  try ip route add blackhole 10.4.0.0/16 proto static
  try ip neigh add 10.0.0.9 lladdr 02:00:00:00:00:09 dev br0
  try ip -6 neigh add 2001:db8::9 lladdr 02:00:00:00:00:0a dev br0 router
  try bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.7
  try bridge fdb add 02:00:00:00:00:0b dev vh1 master
  exec "$2/make_seeds" "$2/seeds" --kernel
fi

secs=${1:-${PW_FUZZ_SECONDS:-60}}
dir=${PW_FUZZ_DIR:-$PWD/node_modules/.cache/pipewright/fuzz}
cxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$cxx" ]; then
  echo "fuzz-decoders: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
mkdir -p "$dir/obj" "$dir/seeds" "$dir/corpus" "$dir/crashes"

# The decoders and everything they link against: every native source except
# the N-API ones (addon, js_value, route_socket, worker, events: whatever
# mentions napi or includes a header that does), which need node. So the
# harness dispatches to the decoders itself. Recoverable UBSan checks abort,
# so libFuzzer saves the input that triggered one.
napi_headers=$(grep -l napi native/*.h | xargs -n1 basename)
sources=()
for f in native/*.cc; do
  grep -q napi "$f" && continue
  for h in $napi_headers; do grep -q "#include \"$h\"" "$f" && continue 2; done
  sources+=("$(basename "$f" .cc)")
done
cflags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -Inative -fno-sanitize-recover=undefined)
echo "fuzz-decoders: building with $cxx in $dir"
printf '%s\n' "${sources[@]}" |
  xargs -P "$(nproc)" -I{} "$cxx" "${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c native/{}.cc -o "$dir/obj/{}.o"
objs=("${sources[@]/#/$dir/obj/}")
objs=("${objs[@]/%/.o}")
"$cxx" "${cflags[@]}" -fsanitize=fuzzer,address,undefined native/fuzz/decode_fuzz.cc "${objs[@]}" -o "$dir/decode_fuzz"
"$cxx" "${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined native/fuzz/make_seeds.cc "${objs[@]}" -o "$dir/make_seeds"

rm -f "$dir"/seeds/*
"$dir/make_seeds" "$dir/seeds"
scripts/sandbox.sh "$PWD/scripts/fuzz-decoders.sh" --kernel-seeds "$dir" ||
  echo "fuzz-decoders: no kernel seeds (sandbox unavailable); fuzzing from encoder seeds only" >&2
echo "fuzz-decoders: $(ls "$dir/seeds" | wc -l) seeds, $(ls "$dir/corpus" | wc -l) inputs in the corpus; fuzzing for ${secs}s"

# New interesting inputs go to the first directory (the corpus kept across
# runs); the seeds are read only. A crash stops the run with a non-zero status.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$dir/decode_fuzz" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$dir/crashes/" \
  "$dir/corpus" "$dir/seeds"
