#!/usr/bin/env bash
# Re-creates the iproute2 fixtures (test/fixtures/iproute2/*.json): the exact
# request iproute2 sends for each command of test/fixtures/iproute2/commands.txt,
# which test/unit/codec.test.ts compares with what our encoder makes.
#
#   scripts/capture-fixtures.sh [OUTDIR]    (default: test/fixtures/iproute2)
#
# Capture into a scratch directory and compare to see what changed:
#   scripts/capture-fixtures.sh /tmp/fx && diff -r test/fixtures/iproute2 /tmp/fx
#
# Everything runs inside scripts/sandbox.sh, and every command in a network
# namespace of its own, created for it and gone after it: the host's network
# is never touched, a command that deletes or breaks the scene harms no other,
# and every command sees the same ifindexes. Needs ip, bridge, strace, python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
if [ "${PW_SANDBOXED:-}" != 1 ]; then exec "$here/sandbox.sh" "$here/capture-fixtures.sh" "$@"; fi

list="$root/test/fixtures/iproute2/commands.txt"
parse="$here/capture-fixtures.py"
out="${1:-$root/test/fixtures/iproute2}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in ip bridge strace python3 unshare; do
  command -v "$tool" >/dev/null || { echo "capture-fixtures: $tool is required" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The scene every command runs in. The args in commands.txt use its indexes,
# which a fresh namespace hands out in order: lo=1, then the veth's peer p1,
# which the kernel registers before p0 itself (p1=2, p0=3), vxlan0=4, br0=5;
# a link a command creates gets 6.
cat >"$work/scene.sh" <<'EOF'
scene() {
  ip link set lo up
  ip link add p0 type veth peer name p1
  ip link add vxlan0 type vxlan id 100 dstport 4789
  ip link add br0 type bridge
  ip link set p1 master br0
  for dev in p0 p1 vxlan0 br0; do ip link set dev "$dev" up; done
  ip addr add 10.0.0.2/24 dev p0
  ip -6 addr add 2001:db8::10/64 dev p0 nodad
  local want="lo=1 p1=2 p0=3 vxlan0=4 br0=5" got
  got=$(ip -o link show | awk -F': ' '{ split($2, n, "@"); printf "%s%s=%s", sep, n[1], $1; sep = " " }')
  [ "$got" = "$want" ] || { echo "scene: indexes are '$got', expected '$want'" >&2; return 1; }
}
EOF

python3 "$parse" entries "$list" >"$work/entries"
count=0
while IFS=$'\x1f' read -r name setup cmd; do
  log="$work/$name.strace"
  # The command may be refused by the kernel (a vlan without 802.1Q, say):
  # the request it sent is what we want, so report the refusal and go on.
  status=0
  PW_SETUP="$setup" PW_CMD="$cmd" PW_LOG="$log" unshare --net bash -c '
    set -euo pipefail
    source "$1"
    scene
    eval "$PW_SETUP"
    exec strace -f -qq -e trace=sendmsg,sendto -e write=all -xx -s 65536 -o "$PW_LOG" -- bash -c "$PW_CMD"
  ' capture "$work/scene.sh" >"$work/$name.out" 2>&1 || status=$?
  [ -s "$log" ] || { echo "$name: nothing traced" >&2; cat "$work/$name.out" >&2; exit 1; }
  python3 "$parse" write "$list" "$name" "$log" "$("${cmd%% *}" -V)" "$out"
  if [ "$status" = 0 ]; then echo "$name"; else echo "$name (exit $status: $(tail -n 1 "$work/$name.out"))"; fi
  count=$((count + 1))
done <"$work/entries"

echo "captured $count fixtures into $out"
# Fixtures the list no longer names are stale: say so rather than delete them.
for f in "$out"/*.json; do
  grep -q "^$(basename "$f" .json)"$'\x1f' "$work/entries" || echo "stale (not in commands.txt): $f" >&2
done
