#!/bin/sh
# The commands pipework runs for `pipework BRIDGE -i eth0 GUEST IP/PFX@GW`
# when BRIDGE is an existing Linux bridge, busybox is installed and arping is
# not (as on this machine), in the same order, one process each: written from
# reading pipework's script, so the bench can time its way of working on
# guests that are named namespaces. Differences, all in pipework's favour:
# no `docker inspect` calls (three per guest in pipework: the guest here is a
# named namespace, not a container) and no arping wait.
#
#   pipework-sequence.sh BRIDGE GUEST IP/PFX GW SCRATCHDIR
set -e
# It changes the network it runs in: only inside the bench's sandbox.
[ "${PW_SANDBOXED:-}" = 1 ] || { echo "$0: run by bench/run.js, inside its sandbox" >&2; exit 2; }
bridge=$1 guest=$2 ipaddr=$3 gateway=$4 scratch=$5
guestif=eth0

# Argument checks: "mac:" form? cgroup v1 or v2?
echo "$bridge" | grep -q '^mac:' || true
grep cgroup2 /proc/filesystems >/dev/null

# pipework points /var/run/netns/$NSPID at /proc/$NSPID/ns/net for `ip netns
# exec`; the guest already has a name here, so the link goes to a scratch
# directory, to run the same two commands.
rm -f "$scratch/$guest"
ln -s "/run/netns/$guest" "$scratch/$guest"

mtu=$(ip link show "$bridge" | awk '$4=="mtu"{print $5}')
host_end="v${guestif}pl${guest}"
tmp_name="v${guestif}pg${guest}"
if ip link show "$host_end" >/dev/null 2>&1; then
  echo "$host_end exists" >&2
  exit 1
fi
ip link add name "$host_end" mtu "$mtu" type veth peer name "$tmp_name" mtu "$mtu"
ip link set "$host_end" master "$bridge" >/dev/null 2>&1
ip link set "$host_end" up
ip link set "$tmp_name" netns "$guest"
ip netns exec "$guest" ip link set "$tmp_name" name "$guestif"

eval "$(busybox ipcalc -b "$ipaddr")"
ip netns exec "$guest" ip -4 addr add "$ipaddr" brd "$BROADCAST" dev "$guestif"
ip netns exec "$guest" ip -4 route delete default >/dev/null 2>&1 || true
ip netns exec "$guest" ip -4 link set "$guestif" up
ip netns exec "$guest" ip -4 route get "$gateway" >/dev/null 2>&1 ||
  ip netns exec "$guest" ip -4 route add "$gateway/32" dev "$guestif"
ip netns exec "$guest" ip -4 route replace default via "$gateway" dev "$guestif"

# Without arping pipework only warns; then it removes its /var/run/netns link.
echo "Warning: arping not found; interface may not be immediately reachable" >/dev/null
rm -f "$scratch/$guest"
