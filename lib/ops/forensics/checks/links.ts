// Checks on the links of the target namespace: veth host ends that cannot
// carry their guest's traffic (FIELD-NOTES §1), bridge ports that do not
// forward, piles of dead devices (§2), and MTUs a bridge cannot carry.
import type { Link } from '../../../core/types';
import { isLocalOnly } from '../find';
import { Check, DoctorContext, DoctorObject, failed, linkAt, nsLabel, passed, some } from './types';

const obj = (ctx: DoctorContext, l: Link, detail: string): DoctorObject => ({ kind: 'link', netns: ctx.targetId, name: l.name, index: l.index, detail });

/**
 * A host end with no master, no address and no route through it leads
 * nowhere. The IPv6 link-local address and routes every up link gets by
 * itself do not count: they are not a configuration anyone made.
 */
function leadsNowhere(ctx: DoctorContext, l: Link): boolean {
  if (l.master !== null) return false;
  if (ctx.addrs.some((a) => a.index === l.index && !isLocalOnly(a.address))) return false;
  return !ctx.routes.some((r) => r.dev === l.index && r.table !== 255 && !(r.family === 6 && /^(fe80|ff)/i.test(r.dst)));
}

export const vethHostEnds: Check = (ctx) => {
  const id = 'veth-host-ends';
  const objects: DoctorObject[] = [];
  for (const l of ctx.links) {
    if (l.kind !== 'veth' || l.linkNetnsId === undefined) continue;
    const peer = linkAt(ctx, ctx.pairing.peerOf({ ns: ctx.targetId, index: l.index }));
    if (!peer || !peer.up) continue;
    const peerNs = nsLabel(ctx, ctx.pairing.peerOf({ ns: ctx.targetId, index: l.index })!.ns);
    if (!l.up) objects.push(obj(ctx, l, `down while its peer ${peer.name} in ${peerNs} is up`));
    else if (leadsNowhere(ctx, l)) objects.push(obj(ctx, l, `not enslaved to a bridge (and no address or route uses it) while its peer ${peer.name} in ${peerNs} is up`));
  }
  if (objects.length === 0) return passed(id, 'every veth host end whose guest side is up is up and connected');
  const bridges = ctx.links.filter((l) => l.kind === 'bridge').map((l) => l.name);
  const target = bridges.length === 1 ? bridges[0]! : 'BRIDGE';
  return failed(
    id,
    `${objects.length} veth host end(s) cut their guest off: ${some(objects.map((o) => `${o.name} (${o.detail})`), 3)}`,
    `bring each host end up, then enslave it: ip link set DEV up && ip link set DEV master ${target}; if it comes back undone, something on the host (systemd-networkd, udev, NetworkManager) manages it`,
    objects,
  );
};

export const bridgePortState: Check = (ctx) => {
  const id = 'bridge-port-state';
  const objects: DoctorObject[] = [];
  for (const l of ctx.links) {
    if (l.port?.kind !== 'bridge' || l.port.state === undefined || l.port.state === 'forwarding') continue;
    // A port whose link is down is 'disabled' by design: the veth check covers why it is down.
    // Operational state, not the carrier flag: the bridge learns of a new
    // carrier from the link-watch work that also sets operstate (up to a
    // second later), so only an 'up' operstate means it should forward.
    if (!l.up || (l.operstate !== undefined ? l.operstate !== 'up' : !l.lowerUp)) continue;
    const br = l.master !== null ? ctx.byIndex.get(l.master) : undefined;
    const why = l.port.state === 'blocking' ? 'STP blocks it (a loop?)' : l.port.state === 'disabled' ? 'administratively disabled' : `STP is still ${l.port.state}`;
    objects.push({ ...obj(ctx, l, `port of ${br?.name ?? `#${l.master}`} in state ${l.port.state}: ${why}`) });
  }
  if (objects.length === 0) return passed(id, 'every bridge port that is up is forwarding');
  return failed(
    id,
    `${objects.length} bridge port(s) up but not forwarding: ${some(objects.map((o) => `${o.name} (${o.detail})`), 3)}`,
    'set the port forwarding (bridge link set dev DEV state 3), or with STP on find the loop it blocks; listening/learning pass after the forward delay',
    objects,
  );
};

export const downDevicePile: Check = (ctx) => {
  const id = 'down-device-pile';
  // The neutron signature: veth/tap devices created by a loop that failed
  // afterwards and never cleaned up. Each is administratively DOWN, enslaved
  // to nothing, and its far side is absent: a tap no process has open (no
  // carrier), a veth whose peer is gone or down.
  const dead = ctx.links.filter((l) => {
    if (l.up || l.master !== null) return false;
    if (l.kind === 'tun') return !l.lowerUp;
    if (l.kind !== 'veth') return false;
    const peer = linkAt(ctx, ctx.pairing.peerOf({ ns: ctx.targetId, index: l.index }));
    return peer === undefined || !peer.up;
  });
  if (dead.length < ctx.pileThreshold) return passed(id, `no pile of dead devices (${dead.length} DOWN veth/tap with nothing behind them; ${ctx.pileThreshold} make a pile)`);
  const names = dead.map((l) => l.name);
  return failed(
    id,
    `${dead.length} DOWN veth/tap devices with nothing behind them (${some(names)}): the leak signature of a create-then-fail loop`,
    'stop the loop that creates them (it leaves a device behind on every failed retry), then delete them in one batch: for d in DEVS; do ip link set $d group 4242; done; ip link delete group 4242',
    dead.map((l) => obj(ctx, l, `${l.kind} DOWN, no master${l.kind === 'tun' ? ', no carrier' : ', peer absent or down'}`)),
  );
};

/** The largest frame a port can bring into its bridge: a veth gets what its guest side sends. */
function ingressMtu(ctx: DoctorContext, l: Link): { mtu: number; via: string } {
  const own = l.mtu ?? 1500;
  if (l.kind === 'veth') {
    const at = ctx.pairing.peerOf({ ns: ctx.targetId, index: l.index });
    const peer = linkAt(ctx, at);
    if (peer?.mtu !== undefined && peer.mtu <= own) return { mtu: peer.mtu, via: `guest ${peer.name} in ${nsLabel(ctx, at!.ns)}` };
  }
  return { mtu: own, via: l.name };
}

export const mtuMismatch: Check = (ctx) => {
  const id = 'mtu-mismatch';
  const objects: DoctorObject[] = [];
  for (const br of ctx.links.filter((l) => l.kind === 'bridge')) {
    const ports = ctx.links.filter((l) => l.master === br.index && l.up);
    if (ports.length < 2) continue;
    for (const p of ports) {
      const { mtu, via } = ingressMtu(ctx, p);
      // The narrowest other port: a bridge drops (never fragments) frames longer than the egress port's MTU.
      const narrow = ports.filter((q) => q !== p && (q.mtu ?? 1500) < mtu).sort((a, b) => (a.mtu ?? 1500) - (b.mtu ?? 1500))[0];
      if (!narrow) continue;
      objects.push(obj(ctx, p, `${via} sends up to ${mtu} bytes; ${narrow.name}${narrow.kind ? ` (${narrow.kind})` : ''} on ${br.name} carries ${narrow.mtu}: longer frames are dropped silently`));
    }
  }
  if (objects.length === 0) return passed(id, 'every bridge carries what its ports send');
  return failed(
    id,
    `${objects.length} bridge port(s) send frames another port of the same bridge cannot carry: ${some(objects.map((o) => `${o.name} (${o.detail})`), 2)}`,
    "lower the guest's MTU to the narrowest port's (ip link set eth0 mtu 1450 inside the guest, or attach with --mtu), or raise the underlay's MTU so the tunnel carries 1500",
    objects,
  );
};
