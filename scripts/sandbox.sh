#!/usr/bin/env bash
# Runs a command inside a throwaway network namespace and a private mount
# namespace, with its own empty /run/netns. Nothing it does can reach the
# host's interfaces, routes or named namespaces, and everything it made is
# gone when it exits. Not root? Then a user namespace maps us to root inside
# (rootless), which is enough for everything pipewright does.
#
#   scripts/sandbox.sh COMMAND [ARGS...]
set -euo pipefail

if [ "${PW_SANDBOXED:-}" = 1 ]; then exec "$@"; fi
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

flags=(--net --mount --propagation private)
[ "$(id -u)" = 0 ] || flags=(--user --map-root-user "${flags[@]}")

exec unshare "${flags[@]}" env PW_SANDBOXED=1 bash -c '
  set -e
  ip link set lo up
  # Our own /run/netns, so named namespaces made inside never show on the host.
  # Rootless, /run/netns may not be creatable: then give /run itself a tmpfs.
  if ! mkdir -p /run/netns 2>/dev/null; then mount -t tmpfs -o mode=0755 pw-run /run; mkdir -p /run/netns; fi
  mount -t tmpfs -o mode=0755 pw-netns /run/netns
  exec "$@"' pipewright-sandbox "$@"
