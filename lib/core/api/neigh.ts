// handle.neigh (ARP/NDP entries) and handle.fdb (bridge forwarding database,
// including a VXLAN device's remote entries and its all-zeros flood entry).
import type { Handle } from '../handle';
import type { FdbSpec, LinkRef, NeighSpec, Neighbour } from '../types';
import * as v from '../validate';
import type { OpArgs } from '../op-types';
import { transport } from '../native';

const STATES = ['incomplete', 'reachable', 'stale', 'delay', 'probe', 'failed', 'noarp', 'permanent'] as const;

export function neighArgs(spec: NeighSpec): OpArgs['neigh.add'] {
  const o = v.object('neighbour', spec) as Record<string, unknown>;
  v.knownKeys('', o, ['dev', 'address', 'lladdr', 'state']);
  const ip = v.ip('address', o.address);
  const a: OpArgs['neigh.add'] = { family: ip.family, index: v.linkRef('dev', o.dev), address: ip.address };
  if (o.lladdr !== undefined) a.lladdr = v.mac('lladdr', o.lladdr, { allowMulticast: true });
  if (o.state !== undefined) a.state = v.oneOf('state', o.state, STATES);
  return a;
}

export function fdbArgs(spec: FdbSpec): OpArgs['neigh.add'] {
  const o = v.object('fdb', spec) as Record<string, unknown>;
  v.knownKeys('', o, ['dev', 'lladdr', 'dst', 'vlan', 'vni', 'port', 'master']);
  const a: OpArgs['neigh.add'] = {
    family: 'bridge',
    index: v.linkRef('dev', o.dev),
    lladdr: v.mac('lladdr', o.lladdr, { allowMulticast: true, allowZero: true }),
  };
  if (o.dst !== undefined) a.address = v.ip('dst', o.dst).address;
  if (o.vlan !== undefined) a.vlan = v.vlanId('vlan', o.vlan);
  if (o.vni !== undefined) a.vni = v.vni('vni', o.vni);
  if (o.port !== undefined) a.port = v.uint('port', o.port, 1, 65535);
  const master = o.master === undefined ? false : v.bool('master', o.master);
  a.flags = master ? { master: true } : { self: true };
  return a;
}

export class NeighApi {
  constructor(private readonly h: Handle) {}

  async add(spec: NeighSpec): Promise<void> {
    await this.h.run('neigh.add', neighArgs(spec));
  }

  async replace(spec: NeighSpec): Promise<void> {
    await this.h.run('neigh.replace', neighArgs(spec));
  }

  async del(spec: Pick<NeighSpec, 'dev' | 'address'>): Promise<void> {
    await this.h.run('neigh.del', neighArgs(spec));
  }

  /**
   * Has the kernel announce a local IPv4 address from dev: one gratuitous ARP
   * request ("who-has A tell A", sender MAC dev's), which neighbours that
   * cache A apply at once. Done by asking the kernel to resolve A on dev and
   * removing that entry in the same hop, so no packet socket is opened and
   * the table is left as it was. Fails with EEXIST if the table already has
   * an entry for A on dev (it is left alone).
   */
  async announce(dev: LinkRef, address: string): Promise<void> {
    const ip = v.ip('address', address, 4);
    await this.h.run('neigh.announce', { index: v.linkRef('dev', dev), address: ip.address });
  }

  /**
   * Sends `count` gratuitous ARP packets for an IPv4 address from a link of
   * this handle's namespace, from a packet socket made there: for when the
   * kernel's own announcement (announce) cannot be used.
   */
  async sendGratuitousArp(dev: number, address: string, mac: string, count = 1): Promise<{ sent: number }> {
    const ip = v.ip('address', address, 4);
    return transport().sendGratuitousArp(this.h.netns ? this.h.netns.fd : -1, v.uint('dev', dev, 1, 0x7fffffff), ip.address, v.mac('mac', mac), v.uint('count', count, 1, 100));
  }

  async list(filter: { dev?: LinkRef; family?: 4 | 6 } = {}): Promise<Neighbour[]> {
    v.knownKeys('', v.object('filter', filter), ['dev', 'family']);
    const args: OpArgs['neigh.list'] = {};
    if (filter.dev !== undefined) args.index = v.linkRef('dev', filter.dev);
    if (filter.family !== undefined) args.family = Number(v.oneOf('family', String(filter.family), ['4', '6'] as const)) as 4 | 6;
    return this.h.run('neigh.list', args);
  }
}

export class FdbApi {
  constructor(private readonly h: Handle) {}

  /** Adds an entry; EEXIST if the MAC is already there. */
  async add(spec: FdbSpec): Promise<void> {
    await this.h.run('neigh.add', fdbArgs(spec));
  }

  /**
   * Appends another destination for the same MAC: how a VXLAN device floods
   * to several remote VTEPs (lladdr 00:00:00:00:00:00, one append per remote).
   */
  async append(spec: FdbSpec): Promise<void> {
    await this.h.run('neigh.append', fdbArgs(spec));
  }

  async replace(spec: FdbSpec): Promise<void> {
    await this.h.run('neigh.replace', fdbArgs(spec));
  }

  async del(spec: FdbSpec): Promise<void> {
    await this.h.run('neigh.del', fdbArgs(spec));
  }

  /** FDB entries, optionally of one device or of one bridge's ports. */
  async list(filter: { dev?: LinkRef; master?: LinkRef } = {}): Promise<Neighbour[]> {
    v.knownKeys('', v.object('filter', filter), ['dev', 'master']);
    const args: OpArgs['neigh.list'] = { family: 'bridge' };
    if (filter.dev !== undefined) args.index = v.linkRef('dev', filter.dev);
    if (filter.master !== undefined) args.master = v.linkRef('master', filter.master);
    return this.h.run('neigh.list', args);
  }
}
