#!/usr/bin/env bash
# The test suite as an unprivileged user: uid 65534 (nobody), no capabilities
# on the host, so the sandbox runs in a user namespace (--user
# --map-root-user) as it does for anyone who is not root. Whatever cannot
# work there must be skipped by a probe that says what it found missing.
#
#   scripts/test-rootless.sh [TAP ARGS...]     (npm run test:rootless [-- FILE...])
#
# Builds nothing and writes nothing into the source tree: the tree is copied
# to a temporary directory the test user owns (tap writes .tap/ there);
# node_modules, build/ and dist/ are linked when that user can read them,
# else copied read-only. As root, the Debian packages the tests drive are
# installed first (only root can), then privileges are dropped. Run by
# someone else, the suite runs as that user. With no arguments this runs
# `npm test`; with arguments, only those test files (no type check).
# Exit status: the suite's.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "test-rootless: $*" >&2; }

for d in node_modules build dist; do
  [ -e "$src/$d" ] || { say "$src/$d is missing: run npm ci first (this script builds nothing)"; exit 1; }
done

if [ "$(id -u)" = 0 ]; then
  "$src/scripts/install-test-deps.sh"
  uid=65534 gid=65534
  # setpriv to a non-zero uid clears the effective and permitted sets; the
  # inheritable and bounding sets go too, so nothing can come back by exec.
  as_user=(setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all --bounding-set=-all)
  parent=/tmp
else
  uid=$(id -u) gid=$(id -g)
  as_user=()
  parent=${TMPDIR:-/tmp}
fi

work=$(mktemp -d "$parent/pw-rootless.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The tree as it is now (tracked or not), without what is built or installed,
# owned by the test user.
mkdir "$work/tree" "$work/home" "$work/tmp"
tar -C "$src" --exclude=./node_modules --exclude=./build --exclude=./dist --exclude=./.tap --exclude=./.git -cf - . | tar -C "$work/tree" -xf -
[ "$(id -u)" != 0 ] || chown -R "$uid:$gid" "$work"

# node_modules, build and dist where they are, if the test user can read
# them there (a clone under a private home directory is not readable by
# nobody); else copies it can read and not change.
if ${as_user[@]+"${as_user[@]}"} sh -c 'cd "$1" && test -r package.json && ls node_modules/.bin build dist >/dev/null' sh "$src" 2>/dev/null; then
  for d in node_modules build dist; do ln -s "$src/$d" "$work/tree/$d"; done
else
  say "uid $uid cannot read $src: copying node_modules, build and dist (read-only)"
  for d in node_modules build dist; do cp -a "$src/$d" "$work/tree/$d"; done
  chmod -R a+rX,a-w "$work/tree/node_modules" "$work/tree/build" "$work/tree/dist"
fi

if [ $# -eq 0 ]; then cmd=(npm test); else cmd=(scripts/sandbox.sh npx tap "$@"); fi
say "running ${cmd[*]} as uid $uid in $work/tree"
cd "$work/tree"
rc=0
${as_user[@]+"${as_user[@]}"} env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work/tmp" LANG="${LANG:-C.UTF-8}" \
  TERM="${TERM:-dumb}" ${CI:+CI="$CI"} npm_config_cache="$work/home/.npm" npm_config_update_notifier=false \
  "${cmd[@]}" || rc=$?
say "uid $uid: exit status $rc"
exit $rc
