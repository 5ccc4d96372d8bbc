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

need=()
have ping || need+=(iputils-ping)
have ip || need+=(iproute2)
have strace || need+=(strace)
have unshare || need+=(util-linux)
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

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
