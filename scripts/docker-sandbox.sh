#!/usr/bin/env bash
# A throwaway Docker engine for the live tests, in its own network and mount
# namespaces: its bridges, iptables rules and sysctls, its /run and its
# /etc/docker never touch the namespaces of whoever started it.
#
#   scripts/docker-sandbox.sh start [--config safe|default] [--owner PID] DIR
#       installs what is missing (docker.io, busybox-static, iptables), starts
#       dockerd with everything under DIR, imports a busybox image as
#       pw-busybox:latest, and prints DOCKER_HOST=unix://DIR/docker.sock
#       --owner PID       stop the engine as soon as PID is gone, so a test
#                         killed before its teardown leaves no dockerd behind
#       --config safe     (default) no iptables, no bridge: the quiet engine
#       --config default  '{}': dockerd's stock networking, FORWARD DROP and
#                         all, inside its own namespace (/proc/PID/ns/net,
#                         PID in DIR/dockerd.pid)
#   scripts/docker-sandbox.sh stop DIR
#       removes its containers, stops dockerd, removes DIR
#   scripts/docker-sandbox.sh install | check
#       only installs the packages / only says whether they are (or can be)
#
# Exit status 77 means "the engine cannot be had here" (not root, or apt
# failed); stderr says why, and callers skip on it.
set -euo pipefail

SKIP=77
SELF=$(readlink -f "$0")

say() { echo "docker-sandbox: $*" >&2; }
skip() { say "$*"; exit $SKIP; }
die() { say "$*"; exit 1; }
now() { echo "${EPOCHREALTIME/[.,]/}"; }          # microseconds
since() { local d=$(( $(now) - $1 )); printf '%d.%02d s' $((d / 1000000)) $((d % 1000000 / 10000)); }

# Root in the initial user namespace: apt and dockerd need the real thing,
# not the mapped root of a rootless sandbox.
real_root() { [ "$(id -u)" = 0 ] && grep -qE '^ +0 +0 +4294967295$' /proc/self/uid_map; }
# What that probe found, for the skip message.
not_real_root() {
  if [ "$(id -u)" != 0 ]; then echo "dockerd needs root in the initial user namespace; this is uid $(id -u)"
  else echo "dockerd needs root in the initial user namespace; /proc/self/uid_map here is '$(head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')' (uid 0 of a user namespace)"; fi
}

# The image needs a static busybox: a dynamic one would find no libc in it.
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }

missing_packages() {
  local m=()
  command -v dockerd >/dev/null || m+=(docker.io)
  static_busybox || m+=(busybox-static)
  command -v iptables >/dev/null || m+=(iptables)
  echo "${m[@]}"
}

# The nearest ancestor in another network namespace: whoever started the
# sandbox we run in (scripts/sandbox.sh), or nothing when we are not in one.
# (PID 1's namespace is no substitute: it may be unreadable, even for root.)
launcher_pid() {
  local me p ns
  me=$(readlink /proc/self/ns/net)
  p=$$
  while [ "$p" -gt 1 ]; do
    p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status")
    [ -n "$p" ] && [ "$p" -ge 1 ] || return 1
    ns=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue   # not ours to read: look further up
    if [ "$ns" != "$me" ]; then echo "$p"; return 0; fi
  done
  return 1
}

# Network-only apt steps. A test runs in a network sandbox with nothing but
# lo, so downloads borrow the network namespace its launcher had; dpkg and
# the packages' maintainer scripts still run here, inside the sandbox.
apt_net() {
  local p
  if p=$(launcher_pid); then
    nsenter --net="/proc/$p/ns/net" -- apt-get "$@"
  else
    apt-get "$@"
  fi
}

install_packages() {
  local missing
  missing=$(missing_packages)
  [ -z "$missing" ] && return 0
  real_root || skip "missing packages: $missing (not root: install them with apt-get install --no-install-recommends $missing)"
  # Two test files may start engines at once: one installs, the other waits
  # and then finds everything there.
  # (The lock is on this script itself: no lock file to leave behind.)
  exec 9<"$SELF"
  flock -w 900 9 || die "waited 900 s for another docker-sandbox.sh to finish installing"
  missing=$(missing_packages)
  if [ -n "$missing" ]; then
    local t0 added_policy=
    t0=$(now)
    # If anything ever starts the packaged daemon, it must not touch host networking.
    mkdir -p /etc/docker
    [ -f /etc/docker/daemon.json ] ||
      echo '{"iptables":false,"ip6tables":false,"ip-forward":false,"ip-masq":false,"bridge":"none"}' >/etc/docker/daemon.json
    # And nothing is started at all: without a policy-rc.d, invoke-rc.d would
    # start dockerd in the host's namespaces (a non-Docker CI image).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && added_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # $missing is a word list
    if ! apt_net update -qq >&2 ||
      ! apt_net -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends --download-only $missing >&2 ||
      ! apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null; then
      [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
      skip "apt-get could not install $missing"
    fi
    [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
    say "installed $missing in $(since "$t0")"
  fi
  exec 9>&-
}

config_json() {
  case $1 in
    safe) echo '{"iptables":false,"ip6tables":false,"ip-forward":false,"ip-masq":false,"bridge":"none","storage-driver":"overlay2"}' ;;
    default) echo '{}' ;;
    *) die "--config must be safe or default, not '$1'" ;;
  esac
}

# A registry-free image: busybox-static's applets (ip, ping, udhcpc, ...).
import_image() {
  local dir=$1 r=$1/rootfs a
  mkdir -p "$r"/{bin,etc/udhcpc,proc,sys,dev,tmp,root,run}
  cp /bin/busybox "$r/bin/"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
  echo 'root:x:0:' >"$r/etc/group"
  # udhcpc's compiled-in script path; present when the udhcpc package is.
  [ ! -f /etc/udhcpc/default.script ] || cp /etc/udhcpc/default.script "$r/etc/udhcpc/"
  tar -C "$r" -c . | docker import -c 'CMD ["/bin/sh"]' - pw-busybox:latest >/dev/null
  # pipework's dhcp mode runs "docker run ... busybox udhcpc".
  docker tag pw-busybox:latest busybox:latest
  rm -rf "$r"
}

start() {
  local config=$1 dir=$2 owner=$3 t0 pid i
  t0=$(now)
  install_packages
  real_root || skip "$(not_real_root)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  # Socket paths under DIR must fit in sun_path (108 bytes); the longest is
  # containerd's DIR/exec/containerd/containerd-debug.sock.
  [ ${#dir} -le 60 ] || die "DIR is too long for the unix socket paths under it (60 characters at most): $dir"
  if [ -s "$dir/dockerd.pid" ] && kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null; then die "a dockerd already runs for $dir"; fi
  config_json "$config" >"$dir/daemon.json"
  # cgroup directories dockerd creates on the host; 'stop' removes them
  # unless they were there before.
  [ -d /sys/fs/cgroup/memory/docker ] || touch "$dir/cgroup-is-ours"

  # No --pid: container PIDs must be host PIDs, so /proc/PID/ns/net resolves.
  # Without --fork, unshare and sh exec: $! is dockerd itself.
  setsid unshare --net --mount --propagation private sh -c '
    ip link set lo up
    mount -t tmpfs tmpfs /run                            # /run/docker, containerd shim sockets
    mkdir -p "$0/etc" && mount --bind "$0/etc" /etc/docker   # dockerd writes key.json there
    exec dockerd --config-file "$0/daemon.json" --data-root "$0/data" --exec-root "$0/exec" \
      --pidfile "$0/dockerd.pid" -H "unix://$0/docker.sock"' "$dir" >"$dir/dockerd.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/dockerd.pid.early"   # for 'stop' if we fail before dockerd writes its own
  # A start that fails half-way leaves no engine running.
  trap 'rc=$?; [ $rc = 0 ] || stop "$dir"; exit $rc' EXIT
  export DOCKER_HOST="unix://$dir/docker.sock"
  for ((i = 0; ; i++)); do
    docker version >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || die "dockerd exited; its log ($dir/dockerd.log) ends:$(echo; tail -n 15 "$dir/dockerd.log")"
    [ $i -lt 600 ] || die "dockerd did not answer within 30 s"
    sleep 0.05
  done
  say "dockerd ($config config, pid $pid) answers after $(since "$t0")"
  import_image "$dir"
  say "pw-busybox:latest imported; ready after $(since "$t0")"
  # Its own session, so a kill aimed at the owner's process group spares it.
  # (A plain command, not a list, in the background: a list would run in a
  # subshell that keeps our stdout open, and the caller waits for its end.)
  if [ -n "$owner" ]; then
    setsid "$SELF" watch --owner "$owner" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  trap - EXIT
  echo "DOCKER_HOST=unix://$dir/docker.sock"
}

# Stops the engine once its owner is gone; ends by itself when DIR is.
watch_owner() {
  local dir=$1 owner=$2
  while [ -d "$dir" ]; do
    if ! kill -0 "$owner" 2>/dev/null; then stop "$dir"; return; fi
    sleep 1
  done
}

# Kills by PID only: dockerd from its pidfile, and, should it need a KILL,
# whatever is left in its private mount namespace (containerd, shims).
stop() {
  local dir=$1 pid='' mntns='' p i f
  [ -d "$dir" ] || return 0
  for f in dockerd.pid dockerd.pid.early; do
    [ -s "$dir/$f" ] && { pid=$(cat "$dir/$f"); break; }
  done
  # A pidfile can outlive its dockerd and the PID be reused: only a process
  # whose command line names DIR is ours.
  if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir"; then
    mntns=$(readlink "/proc/$pid/ns/mnt" || true)
    # 'sleep' as a container's PID 1 ignores SIGTERM: remove containers
    # with -f first, or dockerd's shutdown waits 10 s per container.
    export DOCKER_HOST="unix://$dir/docker.sock"
    local ids
    ids=$(docker ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086 # a list of ids
    [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd $pid ignored SIGTERM for 30 s: killing it and its namespace's processes"
      for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mntns" ] && kill -KILL "${p#/proc/}" 2>/dev/null || true
      done
      for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  if [ -e "$dir/cgroup-is-ours" ]; then
    rmdir /sys/fs/cgroup/*/docker 2>/dev/null || true   # only empty ones go
  fi
  rm -rf "$dir"
}

main() {
  local cmd=${1:-} config=safe dir='' owner='' missing
  [ $# -gt 0 ] && shift
  while [ $# -gt 0 ]; do
    case $1 in
      --config) [ $# -ge 2 ] || die "--config needs a value"; config=$2; shift 2 ;;
      --config=*) config=${1#--config=}; shift ;;
      --owner) [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || die "--owner needs a PID"; owner=$2; shift 2 ;;
      -*) die "unknown option $1" ;;
      *) [ -z "$dir" ] || die "one DIR only"; dir=$1; shift ;;
    esac
  done

  case $cmd in
    start) [ -n "$dir" ] || die "usage: $0 start [--config safe|default] [--owner PID] DIR"; config_json "$config" >/dev/null; start "$config" "$dir" "$owner" ;;
    stop) [ -n "$dir" ] || die "usage: $0 stop DIR"; stop "$dir" ;;
    install) install_packages ;;
    watch) watch_owner "$dir" "$owner" ;;
    check)
      missing=$(missing_packages)
      [ -z "$missing" ] || real_root || skip "missing packages: $missing, and not root to install them"
      real_root || skip "$(not_real_root)" ;;
    *) die "usage: $0 start [--config safe|default] [--owner PID] DIR | stop DIR | install | check" ;;
  esac
}

# One line, parsed whole before it runs: the watchdog is a long-lived bash
# reading this file, and an edit under it must not feed it new commands.
main "$@"; exit
