#!/usr/bin/env bash
# Debian packages the live tests use: ping (real traffic across namespaces),
# iproute2 (the "old way" side of comparisons and fixtures), strace (to
# capture iproute2's requests), and for the DHCP tests a server (dnsmasq)
# plus the three clients pipewright can drive (udhcpc, dhclient, dhcpcd).
# Installed only when missing.
set -euo pipefail

# Is CMD available? dnsmasq, dhclient and dhcpcd live in /usr/sbin or /sbin,
# which a non-root PATH often lacks, so look there too.
have() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]
}

# --minimal: only what the demo and examples need (ping, ip, unshare).
minimal=0
[ "${1:-}" = --minimal ] && minimal=1

need=()
have ping || need+=(iputils-ping)
have ip || need+=(iproute2)
have unshare || need+=(util-linux)
if [ $minimal = 0 ]; then
have strace || need+=(strace)
# dnsmasq-base is the bare binary: no init script, no service that could
# start on the host and answer DHCP there.
have dnsmasq || need+=(dnsmasq-base)
# udhcpc is busybox's applet; the udhcpc package adds /sbin/udhcpc and the
# /etc/udhcpc/default.script that applies the lease. It depends on busybox
# OR busybox-static: ask for busybox-static ourselves, because the two
# conflict and the Docker tests need the static one (it runs inside a
# rootfs with no libraries).
if ! have udhcpc || [ ! -e /etc/udhcpc/default.script ]; then
  have busybox || need+=(busybox-static)
  need+=(udhcpc)
fi
have dhclient || need+=(isc-dhcp-client)
have dhcpcd || need+=(dhcpcd-base)
# The CNI proof (test/live/cni-*.test.ts): podman 4.3, whose network backend
# on Debian is CNI; the reference plugins (bridge, host-local, portmap, ...)
# in /usr/lib/cni; a static busybox for the image podman imports; and Go
# with libcni's source, to build the libcni test driver offline.
have podman || need+=(podman)
# crun: podman's runtime in the tests, because it runs containers without
# cgroups ("cgroups = disabled"), so the tests write nothing into the host's
# cgroup tree (runc refuses that mode).
have crun || need+=(crun)
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
have go || [ -x /usr/lib/go/bin/go ] || need+=(golang-go)
[ -d /usr/share/gocode/src/github.com/containernetworking/cni/libcni ] || need+=(golang-github-appc-cni-dev)
# The zsh completion script is checked by zsh itself (zsh -n, and completing).
have zsh || need+=(zsh)
# The prebuilt addons (npm run prebuilds, run by npm pack): the other
# architecture's cross compiler, and qemu-user to load that build there.
case "$(uname -m)" in
  x86_64) have aarch64-linux-gnu-g++ || need+=(g++-aarch64-linux-gnu); have qemu-aarch64 || need+=(qemu-user) ;;
  aarch64) have x86_64-linux-gnu-g++ || need+=(g++-x86-64-linux-gnu); have qemu-x86_64 || need+=(qemu-user) ;;
esac
fi

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Docker engine for the container tests (docker.io, busybox-static,
# iptables), installed here, before the tests enter their network sandbox.
# Exit 77: no engine can be had (not root); those tests then skip with the reason.
[ $minimal = 1 ] || "$(dirname "$0")/docker-sandbox.sh" install || [ $? = 77 ]
