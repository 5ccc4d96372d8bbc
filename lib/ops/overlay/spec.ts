// The declarative specs of a bridge and of a VXLAN overlay, validated once
// at the edge into normalized, frozen values: every refusal names the
// field, the value and why (ERR_PW_INVALID_ARGUMENT, exit 2 on the command
// line). Pure: nothing here reads or changes the kernel.
import { invalidArgument } from '../../core/errors';
import * as v from '../../core/validate';

/** IANA's VXLAN port. The kernel's own default (8472) is Linux's historic one: we always send a port. */
export const DEFAULT_VXLAN_PORT = 4789;

export interface BridgeSpec {
  name: string;
  /** The bridge's own (gateway) address, e.g. '172.16.1.1/16'. */
  address?: string;
  mtu?: number;
  stp?: boolean;
  /** Who made it (the mark's owner); default 'pipewright'. */
  owner?: string;
}

export interface OverlaySpec {
  name: string;
  vni: number;
  /** UDP destination port; default 4789. */
  port?: number;
  /** The underlay device the tunnel's packets leave by. */
  dev: string;
  /** This host's underlay address (the tunnel's source). */
  local: string;
  /** The other hosts' underlay addresses: one all-zeros flood entry each. */
  peers: string[];
  mtu?: number;
  /** The bridge to enslave the VXLAN device to. */
  bridge?: string;
  /**
   * Lower the MTU of the bridge's other ports to the overlay's when they are
   * larger (the MTU trap). Without it such ports are refused.
   */
  fixMtu?: boolean;
  owner?: string;
}

export interface NormalizedBridge {
  readonly name: string;
  readonly address?: v.HostCidr;
  readonly mtu?: number;
  readonly stp?: boolean;
  readonly owner: string;
}

export interface NormalizedOverlay {
  readonly name: string;
  readonly vni: number;
  readonly port: number;
  readonly dev: string;
  readonly local: string;
  readonly family: 4 | 6;
  /** Normalized addresses, in the order given. */
  readonly peers: readonly string[];
  readonly mtu?: number;
  readonly bridge?: string;
  readonly fixMtu: boolean;
  readonly owner: string;
}

/** An owner tag: non-empty, no whitespace, at most 64 bytes (as attach's). */
export function ownerTag(field: string, value: unknown): string {
  if (value === undefined) return 'pipewright';
  const s = v.str(field, value, 64);
  if (s === '' || /\s/.test(s)) throw invalidArgument(field, value, 'must be a non-empty word without whitespace');
  return s;
}

/** A unicast host address: not multicast, broadcast, unspecified or loopback; of `family` when given. */
function unicast(field: string, value: unknown, family?: 4 | 6): string {
  if (value === undefined || value === null || value === '') throw invalidArgument(field, value, 'is required: an IPv4 or IPv6 address');
  const a = v.gateway(field, value);
  if (family !== undefined && a.family !== family) throw invalidArgument(field, value, `is an IPv${a.family} address, but local is IPv${family}: a tunnel has one family`);
  return a.address;
}

export function normalizeBridge(spec: BridgeSpec): NormalizedBridge {
  const o = v.object('bridge', spec);
  v.knownKeys('', o, ['name', 'address', 'mtu', 'stp', 'owner']);
  const out: { -readonly [K in keyof NormalizedBridge]: NormalizedBridge[K] } = { name: v.ifname('name', o.name), owner: ownerTag('owner', o.owner) };
  if (o.address !== undefined) out.address = v.hostCidr('address', o.address);
  if (o.mtu !== undefined) out.mtu = v.mtu('mtu', o.mtu);
  if (o.stp !== undefined) out.stp = v.bool('stp', o.stp);
  return Object.freeze(out);
}

export function normalizeOverlay(spec: OverlaySpec): NormalizedOverlay {
  const o = v.object('overlay', spec);
  v.knownKeys('', o, ['name', 'vni', 'port', 'dev', 'local', 'peers', 'mtu', 'bridge', 'fixMtu', 'owner']);
  const name = v.ifname('name', o.name);
  if (o.vni === undefined) throw invalidArgument('vni', o.vni, 'is required: the VXLAN network identifier, 1 to 16777215');
  const vni = v.uint('vni', o.vni, 1, 0xffffff);
  const port = o.port === undefined ? DEFAULT_VXLAN_PORT : v.uint('port', o.port, 1, 65535);
  if (o.dev === undefined) throw invalidArgument('dev', o.dev, 'is required: the underlay device the tunnel runs over (e.g. eth0)');
  const dev = v.ifname('dev', o.dev);
  if (dev === name) throw invalidArgument('dev', o.dev, 'is the overlay device itself: name the underlay device');
  const local = unicast('local', o.local);
  const family = local.includes(':') ? 6 : 4;
  if (!Array.isArray(o.peers)) throw invalidArgument('peers', o.peers, 'must be a list of the other hosts\' underlay addresses (it may be empty)');
  const peers: string[] = [];
  o.peers.forEach((p, i) => {
    const a = unicast(`peers[${i}]`, p, family);
    if (a === local) throw invalidArgument(`peers[${i}]`, p, 'is this host\'s own address (local): a host does not flood to itself');
    const first = peers.indexOf(a);
    if (first >= 0) throw invalidArgument(`peers[${i}]`, p, `duplicates peers[${first}] (${peers[first]}): each peer is listed once`);
    peers.push(a);
  });
  const out: { -readonly [K in keyof NormalizedOverlay]: NormalizedOverlay[K] } = {
    name, vni, port, dev, local, family, peers: Object.freeze(peers), fixMtu: o.fixMtu === undefined ? false : v.bool('fixMtu', o.fixMtu), owner: ownerTag('owner', o.owner),
  };
  if (o.mtu !== undefined) out.mtu = v.mtu('mtu', o.mtu);
  if (o.bridge !== undefined) {
    out.bridge = v.ifname('bridge', o.bridge);
    if (out.bridge === name || out.bridge === dev) throw invalidArgument('bridge', o.bridge, `is the ${out.bridge === name ? 'overlay' : 'underlay'} device itself`);
  }
  return Object.freeze(out);
}
