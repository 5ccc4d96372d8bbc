// §4 the old way: the write-up's hand-built topologies, command by command
// with real iproute2 — two named namespaces on br0 (172.16.1.1/16), then two
// "hosts" joined by VXLAN 42 with an all-zeros FDB flood entry — pinged, then
// torn down with `ip netns del` and `ip link del`.
import type { Netns } from '../../core/netns';
import { script } from './common';

const SCRIPT = `set -u
N1=$1 N2=$2 HA=$3 HB=$4 CA=$5 CB=$6
n=0; bad=0
run() { n=$((n+1)); "$@" || { bad=$((bad+1)); echo "failed: $*" >&2; }; }
pingc() { if ip netns exec "$1" ping -c 1 -W 2 -n "$2" >/dev/null 2>&1; then echo "ping $1 $2 ok"; else echo "ping $1 $2 FAILED"; fi; }

# The two-namespace bridge, as the write-up builds it.
run ip netns add $N1; run ip netns add $N2
run ip link add br0 type bridge; run ip addr add 172.16.1.1/16 dev br0; run ip link set br0 up
i=1
for NS in $N1 $N2; do
  run ip link add veth$i type veth peer name vpeer$i
  run ip link set veth$i master br0; run ip link set veth$i up
  run ip link set vpeer$i netns $NS
  run ip -n $NS link set vpeer$i name eth0
  run ip -n $NS addr add 172.16.1.$((i+1))/16 dev eth0
  run ip -n $NS link set eth0 up; run ip -n $NS link set lo up
  i=$((i+1))
done
pingc $N1 172.16.1.3; pingc $N2 172.16.1.2; pingc $N1 172.16.1.1

# Two hosts, an underlay link, VXLAN 42 on a bridge per host, one container each.
for NS in $HA $HB $CA $CB; do run ip netns add $NS; done
run ip link add eth0 netns $HA type veth peer name eth0 netns $HB
i=1
for H in $HA $HB; do
  o=$((3-i)); C=$CA; [ $i = 2 ] && C=$CB
  run ip -n $H link set lo up; run ip -n $H link set eth0 up; run ip -n $H addr add 192.0.2.$i/24 dev eth0
  run ip -n $H link add br0 type bridge; run ip -n $H link set br0 up
  run ip -n $H link add vxlan0 type vxlan id 42 dev eth0 dstport 4789 local 192.0.2.$i
  run ip -n $H link set vxlan0 master br0; run ip -n $H link set vxlan0 up
  run bridge -n $H fdb append 00:00:00:00:00:00 dst 192.0.2.$o dev vxlan0
  run ip -n $H link add veth0 mtu 1450 type veth peer name ceth0 mtu 1450
  run ip -n $H link set veth0 master br0; run ip -n $H link set veth0 up
  run ip -n $H link set ceth0 netns $C
  run ip -n $C link set ceth0 name eth0; run ip -n $C addr add 172.16.1.$((i+1))/24 dev eth0
  run ip -n $C link set eth0 up; run ip -n $C link set lo up
  i=$((i+1))
done
pingc $CA 172.16.1.3; pingc $CB 172.16.1.2

# Teardown.
for NS in $N1 $N2 $HA $HB $CA $CB; do run ip netns del $NS; done
run ip link del br0
echo "commands=$n failed=$bad"`;

export interface OldOverlay {
  commands: number;
  failedCommands: number;
  pings: Array<{ from: string; to: string; ok: boolean }>;
  exit: number;
  stderr: string;
}

/** Runs the hand-built version in `root` (a private namespace); names are the six named namespaces to use. */
export async function oldOverlay(root: Netns, names: [string, string, string, string, string, string]): Promise<OldOverlay> {
  const r = await script(root, SCRIPT, names, 40_000);
  const pings = [...r.stdout.matchAll(/^ping (\S+) (\S+) (ok|FAILED)$/gm)].map((m) => ({ from: m[1]!, to: m[2]!, ok: m[3] === 'ok' }));
  const m = /commands=(\d+) failed=(\d+)/.exec(r.stdout);
  return { commands: Number(m?.[1] ?? 0), failedCommands: Number(m?.[2] ?? -1), pings, exit: r.code, stderr: r.stderr.trim() };
}
