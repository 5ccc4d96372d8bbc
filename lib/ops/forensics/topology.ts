// topology(): the host as a graph a person can read (FIELD-NOTES §5):
// namespaces as boxes, their links as nodes, and edges for veth pairs
// (across namespaces), bridge ports (port -> bridge) and lower devices
// (vxlan/macvlan/vlan -> the device they ride on). Settings that silently
// change what a bridge does ride along: bridge-nf-call-iptables per
// namespace, each port's STP state and hairpin mode.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pairVethsExact } from './nsid';
import { linkTarget } from './pairs';
import { mapLimit } from './procfs';
import { scanNamespaces } from './scan';
import { describeHolder } from './types';
import type { NetnsFlags, NetnsScan, ScannedNetns } from './types';

const run = promisify(execFile);

export interface TopoLink {
  /** "NSID/INDEX": unique in the graph. */
  id: string;
  ns: string;
  index: number;
  name: string;
  kind: string | null;
  up: boolean;
  lowerUp: boolean;
  mtu?: number;
  mac?: string;
  /** The bridge (or other master) it is a port of, by id. */
  master?: string;
  addresses: string[];
  port?: { state?: string; hairpin?: boolean };
  vxlan?: { vni?: number; remote?: string; local?: string; port?: number };
}

export interface TopoNamespace {
  id: string;
  /** One phrase: its name, or the process or mount that holds it. */
  label: string;
  names: string[];
  flags: NetnsFlags;
  /** net.bridge.bridge-nf-call-iptables in this namespace (read when it has a bridge); null when unreadable. */
  bridgeNfCallIptables?: boolean | null;
  links: TopoLink[];
  error?: string;
}

export type TopoEdgeKind = 'veth' | 'port' | 'lower';

export interface TopoEdge {
  kind: TopoEdgeKind;
  from: string;
  to: string;
  /** The two ends are in different namespaces. */
  crossNs: boolean;
}

export interface Topology {
  namespaces: TopoNamespace[];
  edges: TopoEdge[];
  /** Links whose other end could not be placed (peer outside the view, ambiguous, gone). */
  unresolved: Array<{ link: string; reason: string }>;
}

export interface TopologyOptions {
  /** A scan made with { all: true, detail: true }, to reuse. */
  scan?: NetnsScan;
  /** Only these namespaces ("dev:ino"); default every one found. */
  namespaces?: string[];
  /** Read bridge-nf-call-iptables in namespaces with a bridge (runs nsenter there; default true). */
  sysctls?: boolean;
  /** Show IPv6 link-local addresses too (every up link has one of its own; default false). */
  linkLocal?: boolean;
}

function label(ns: ScannedNetns): string {
  const name = ns.names[0]?.name;
  return name ? `'${name}'` : describeHolder(ns);
}

/** Reads the sysctl inside the namespace: /proc/sys/net is the reader's namespace, so a process must enter it. */
async function bridgeNfCall(path: string): Promise<boolean | null> {
  try {
    const { stdout } = await run('nsenter', [`--net=${path}`, 'cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'], { timeout: 5000 });
    return stdout.trim() === '1';
  } catch {
    return null;
  }
}

export async function topology(opts: TopologyOptions = {}): Promise<Topology> {
  const scan = opts.scan ?? (await scanNamespaces({ all: true, detail: true }));
  const wanted = opts.namespaces ? new Set(opts.namespaces) : null;
  const included = scan.namespaces.filter((n) => !wanted || wanted.has(n.id));
  const inView = new Set(included.map((n) => n.id));
  // Pair across every namespace, not only the ones shown: constraints learnt
  // from the others settle ambiguous pairs among the shown ones.
  const pairing = await pairVethsExact(scan.namespaces);
  const edges: TopoEdge[] = [];
  const unresolved: Topology['unresolved'] = [];
  const namespaces: TopoNamespace[] = [];

  for (const ns of included) {
    const addrs = new Map<number, string[]>();
    for (const a of ns.addresses ?? []) if (opts.linkLocal || !/^fe[89ab]/i.test(a.address)) addrs.set(a.index, [...(addrs.get(a.index) ?? []), `${a.address}/${a.prefixLen}`]);
    const links: TopoLink[] = (ns.links ?? []).map((l) => ({
      id: `${ns.id}/${l.index}`,
      ns: ns.id,
      index: l.index,
      name: l.name,
      kind: l.kind,
      up: l.up,
      lowerUp: l.lowerUp,
      ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
      ...(l.address !== undefined ? { mac: l.address } : {}),
      ...(l.master !== null ? { master: `${ns.id}/${l.master}` } : {}),
      addresses: addrs.get(l.index) ?? [],
      ...(l.port ? { port: { ...(l.port.state !== undefined ? { state: l.port.state } : {}), ...(l.port.hairpin !== undefined ? { hairpin: l.port.hairpin } : {}) } } : {}),
      ...(l.vxlan ? { vxlan: { ...(l.vxlan.vni !== undefined ? { vni: l.vxlan.vni } : {}), ...(l.vxlan.remote ? { remote: l.vxlan.remote } : {}), ...(l.vxlan.local ? { local: l.vxlan.local } : {}), ...(l.vxlan.port !== undefined ? { port: l.vxlan.port } : {}) } } : {}),
    }));
    namespaces.push({ id: ns.id, label: label(ns), names: ns.names.map((n) => n.path), flags: ns.flags, links, ...(ns.error ? { error: ns.error } : {}) });

    for (const l of ns.links ?? []) {
      const id = `${ns.id}/${l.index}`;
      if (l.master !== null) edges.push({ kind: 'port', from: id, to: `${ns.id}/${l.master}`, crossNs: false });
      if (l.kind === 'veth') {
        const peer = pairing.peerOf({ ns: ns.id, index: l.index });
        const peerId = peer && `${peer.ns}/${peer.index}`;
        if (!peer) unresolved.push({ link: id, reason: pairing.ambiguous.some((a) => a.at.ns === ns.id && a.at.index === l.index) ? 'peer ambiguous' : 'peer not found' });
        else if (!inView.has(peer.ns)) unresolved.push({ link: id, reason: `peer in ${peer.ns}, outside the view` });
        else if (id < peerId!) edges.push({ kind: 'veth', from: id, to: peerId!, crossNs: peer.ns !== ns.id });
        continue;
      }
      // A vxlan names its underlay device in its own attributes; macvlan,
      // macvtap and vlan carry it in IFLA_LINK (with a netnsid once moved).
      const lowerIndex = l.vxlan?.dev ?? linkTarget(l);
      if (lowerIndex === undefined || lowerIndex === 0) continue;
      const lower = l.vxlan?.dev !== undefined ? { ns: ns.id, index: lowerIndex } : pairing.resolve(ns.id, lowerIndex, l.linkNetnsId);
      if (!lower) unresolved.push({ link: id, reason: `lower device ${lowerIndex}${l.linkNetnsId !== undefined ? ` in netnsid ${l.linkNetnsId}` : ''} not placed` });
      else if (!inView.has(lower.ns)) unresolved.push({ link: id, reason: `lower device in ${lower.ns}, outside the view` });
      else edges.push({ kind: 'lower', from: id, to: `${lower.ns}/${lower.index}`, crossNs: lower.ns !== ns.id });
    }
  }

  if (opts.sysctls !== false) {
    const withBridge = namespaces.filter((n) => n.links.some((l) => l.kind === 'bridge'));
    await mapLimit(withBridge, 4, async (n) => {
      const via = scan.namespaces.find((s) => s.id === n.id)?.openedVia;
      n.bridgeNfCallIptables = via ? await bridgeNfCall(via) : null;
    });
  }
  return { namespaces, edges, unresolved };
}
