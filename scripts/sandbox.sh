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
  # Rootless, the /run of the host is not ours to write (nor to make /run/netns
  # in; tools lock files there, e.g. /run/xtables.lock): then give /run itself
  # a tmpfs.
  if [ ! -w /run ] || ! mkdir -p /run/netns 2>/dev/null; then mount -t tmpfs -o mode=0755 pw-run /run; mkdir -p /run/netns; fi
  mount -t tmpfs -o mode=0755 pw-netns /run/netns
  # pipewright keeps per-guest files (resolv.conf, DHCP leases, client logs)
  # under PW_STATE_DIR, by default /run/pipewright on the host. Use a private
  # dir here. Its tmpfs lives only in this mount namespace, so the files go
  # away with it even if we are killed. The empty dir is removed on exit.
  PW_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pipewright-state.XXXXXX")
  # A DHCP lease for a named namespace is linked into /etc/netns/NAME (what
  # ip netns exec reads); here /etc is the host'"'"'s, so give it a private
  # stand-in the same way.
  PW_NETNS_ETC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/pipewright-etc-netns.XXXXXX")
  export PW_STATE_DIR PW_NETNS_ETC_DIR
  trap "for d in \"\$PW_STATE_DIR\" \"\$PW_NETNS_ETC_DIR\"; do umount -l \"\$d\" 2>/dev/null; rmdir \"\$d\" 2>/dev/null; done; true" EXIT
  mount -t tmpfs -o mode=0755 pw-state "$PW_STATE_DIR"
  mount -t tmpfs -o mode=0755 pw-etc-netns "$PW_NETNS_ETC_DIR"
  # This shell stays, to remove that dir afterwards. The command runs as its
  # child, so pass on a TERM or INT sent to us. stdin is given explicitly
  # because a background command would otherwise read /dev/null.
  "$@" <&0 &
  child=$!
  trap "signalled=1; kill -TERM $child 2>/dev/null" TERM
  trap "signalled=1; kill -INT $child 2>/dev/null" INT
  # A trapped signal interrupts wait: then wait again for the real exit status.
  while :; do
    signalled=0 rc=0
    wait $child || rc=$?
    [ $signalled = 1 ] || break
  done
  exit $rc' pipewright-sandbox "$@"
