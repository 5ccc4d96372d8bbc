// handle.link: create, change, delete, read links.
import type { Handle } from '../handle';
import { Netns } from '../netns';
import { invalidArgument, isNetlinkError, NetlinkError, PipewrightError } from '../errors';
import type { Link, LinkChanges, LinkRef, LinkSpec, NetnsTarget, VethPeer } from '../types';
import * as v from '../validate';
import { netnsArgs } from './netns-target';
import { ADDR_GEN_MODE_NAMES, LINK_KIND_NAMES, MACVLAN_MODE_NAMES, VLAN_PROTOCOL_NAMES, type BridgeSettingsArgs, type LinkKindName, type OpArgs, type VethPeerArgs } from '../op-types';

const COMMON = ['kind', 'name', 'mtu', 'address', 'up', 'master', 'group', 'alias', 'netns', 'txqlen', 'txQueues', 'rxQueues'] as const;
const KIND_FIELDS: Record<LinkKindName, readonly string[]> = {
  veth: ['peer'],
  bridge: ['stp', 'forwardDelay', 'ageingTime', 'priority', 'vlanFiltering', 'multicastSnooping'],
  macvlan: ['parent', 'mode'],
  macvtap: ['parent', 'mode'],
  vxlan: ['vni', 'port', 'local', 'remote', 'multicastGroup', 'dev', 'learning', 'ttl', 'ageing'],
  vlan: ['parent', 'vlanId', 'protocol'],
  dummy: [],
  ifb: [],
};

/** Validates the options links share and converts them to the addon's arguments. */
function commonArgs(field: string, o: Record<string, unknown>, forSet: boolean): VethPeerArgs {
  const a: VethPeerArgs = {};
  const p = field ? `${field}.` : '';
  if (o.mtu !== undefined) a.mtu = v.mtu(`${p}mtu`, o.mtu);
  if (o.address !== undefined) a.address = v.mac(`${p}address`, o.address);
  if (o.up !== undefined) a.up = v.bool(`${p}up`, o.up);
  if (o.master !== undefined) {
    if (o.master === null) {
      if (!forSet) throw invalidArgument(`${p}master`, null, 'can only be null when changing a link (to release it)');
      a.master = 0;
    } else a.master = v.linkRef(`${p}master`, o.master);
  }
  if (o.group !== undefined) a.group = v.uint(`${p}group`, o.group, 0, 0xffffffff);
  if (o.alias !== undefined) a.alias = v.str(`${p}alias`, o.alias, 255);
  if (o.txqlen !== undefined) a.txqlen = v.uint(`${p}txqlen`, o.txqlen, 0, 0xffffffff);
  Object.assign(a, netnsArgs(`${p}netns`, o.netns as never));
  return a;
}

/** A new link's queue counts (LinkQueues): creation only, 1 to 4096 as the kernel takes them. */
function queueArgs(field: string, o: Record<string, unknown>): { txQueues?: number; rxQueues?: number } {
  const p = field ? `${field}.` : '';
  const a: { txQueues?: number; rxQueues?: number } = {};
  if (o.txQueues !== undefined) a.txQueues = v.uint(`${p}txQueues`, o.txQueues, 1, 4096);
  if (o.rxQueues !== undefined) a.rxQueues = v.uint(`${p}rxQueues`, o.rxQueues, 1, 4096);
  return a;
}

/** A bridge's own settings (at creation, or changed in place by link.set's `bridge`). */
function bridgeArgs(p: string, o: Record<string, unknown>): BridgeSettingsArgs {
  const a: BridgeSettingsArgs = {};
  if (o.stp !== undefined) a.stp = v.bool(`${p}stp`, o.stp);
  if (o.forwardDelay !== undefined) a.forwardDelay = v.uint(`${p}forwardDelay`, o.forwardDelay, 0, 0xffffffff);
  if (o.ageingTime !== undefined) a.ageingTime = v.uint(`${p}ageingTime`, o.ageingTime, 0, 0xffffffff);
  if (o.priority !== undefined) a.priority = v.uint(`${p}priority`, o.priority, 0, 65535);
  if (o.vlanFiltering !== undefined) a.vlanFiltering = v.bool(`${p}vlanFiltering`, o.vlanFiltering);
  if (o.multicastSnooping !== undefined) a.multicastSnooping = v.bool(`${p}multicastSnooping`, o.multicastSnooping);
  return a;
}

function peerArgs(peer: unknown): VethPeerArgs {
  const o = v.object('peer', peer) as VethPeer & Record<string, unknown>;
  // No alias: the kernel ignores IFLA_IFALIAS when it creates a link, and a
  // peer may be born where this handle cannot set it afterwards.
  v.knownKeys('peer', o, ['name', 'mtu', 'address', 'up', 'group', 'netns', 'txQueues', 'rxQueues']);
  const a = { ...commonArgs('peer', o, false), ...queueArgs('peer', o) };
  if (o.name !== undefined) a.name = v.ifname('peer.name', o.name);
  return a;
}

/** Validates a link spec and returns the addon's arguments for link.add. */
export function linkAddArgs(spec: LinkSpec): OpArgs['link.add'] {
  const o = v.object('spec', spec) as Record<string, unknown>;
  const kind = v.oneOf('kind', o.kind, LINK_KIND_NAMES);
  v.knownKeys('', o, [...COMMON, ...KIND_FIELDS[kind]]);
  const a: OpArgs['link.add'] = { kind, name: v.ifname('name', o.name), ...commonArgs('', o, false), ...queueArgs('', o) };
  switch (kind) {
    case 'veth':
      if (o.peer !== undefined) a.peer = peerArgs(o.peer);
      break;
    case 'bridge':
      Object.assign(a, bridgeArgs('', o));
      break;
    case 'macvlan':
    case 'macvtap':
      a.parent = v.linkRef('parent', o.parent);
      if (o.mode !== undefined) a.mode = v.oneOf('mode', o.mode, MACVLAN_MODE_NAMES);
      break;
    case 'vxlan': {
      a.vni = v.vni('vni', o.vni);
      if (o.port !== undefined) a.port = v.uint('port', o.port, 1, 65535);
      if (o.remote !== undefined && o.multicastGroup !== undefined)
        throw invalidArgument('multicastGroup', o.multicastGroup, 'cannot be combined with remote');
      const local = o.local === undefined ? undefined : v.ip('local', o.local);
      if (local) a.local = local.address;
      for (const key of ['remote', 'multicastGroup'] as const) {
        if (o[key] === undefined) continue;
        const dst = v.ip(key, o[key], local?.family);
        if (key === 'multicastGroup' && !(dst.family === 4 ? /^2(2[4-9]|3\d)\./.test(dst.address) : dst.address.startsWith('ff')))
          throw invalidArgument(key, o[key], 'is not a multicast address (use remote for a unicast VTEP)');
        a[key] = dst.address;
      }
      if (o.dev !== undefined) a.dev = v.linkRef('dev', o.dev);
      if (o.learning !== undefined) a.learning = v.bool('learning', o.learning);
      if (o.ttl !== undefined) a.ttl = v.uint('ttl', o.ttl, 0, 255);
      if (o.ageing !== undefined) a.ageing = v.uint('ageing', o.ageing, 0, 0xffffffff);
      break;
    }
    case 'vlan':
      a.parent = v.linkRef('parent', o.parent);
      a.vlanId = v.vlanId('vlanId', o.vlanId);
      if (o.protocol !== undefined) a.protocol = v.oneOf('protocol', o.protocol, VLAN_PROTOCOL_NAMES);
      break;
  }
  return a;
}

export function linkSetArgs(ref: LinkRef, changes: LinkChanges): OpArgs['link.set'] {
  const o = v.object('changes', changes) as Record<string, unknown>;
  v.knownKeys('', o, ['name', 'up', 'mtu', 'address', 'master', 'group', 'alias', 'netns', 'txqlen', 'bridge', 'ipv6AddrGenMode']);
  const a: OpArgs['link.set'] = { index: v.linkRef('link', ref), ...commonArgs('', o, true) };
  if (o.name !== undefined) a.name = v.ifname('name', o.name);
  if (o.ipv6AddrGenMode !== undefined) a.ipv6AddrGenMode = v.oneOf('ipv6AddrGenMode', o.ipv6AddrGenMode, ADDR_GEN_MODE_NAMES);
  if (o.bridge !== undefined) {
    const b = v.object('bridge', o.bridge) as Record<string, unknown>;
    v.knownKeys('bridge', b, KIND_FIELDS.bridge);
    a.bridge = bridgeArgs('bridge.', b);
  }
  return a;
}

/**
 * One change as the kernel needs it: it applies a request's flags before
 * its IFLA_AF_SPEC, so a link brought up in the request that sets its IPv6
 * address generation would make its link-local address first. The mode
 * then goes in a request of its own, sent first (same hop).
 */
export function setRequests(a: OpArgs['link.set']): OpArgs['link.set'][] {
  if (a.ipv6AddrGenMode === undefined || a.up !== true) return [a];
  const { ipv6AddrGenMode, ...rest } = a;
  return [{ index: a.index, ipv6AddrGenMode }, rest];
}

/** The same kernel refusal, pointed at the field and object it was about (the original as `cause`). */
function pointAt(e: NetlinkError, field: string, object: string, message: string): NetlinkError {
  const out = new NetlinkError(`${e.message}: ${message}`);
  const { code, errno, syscall, op, extack } = e;
  const kept = Object.fromEntries(Object.entries({ errno, syscall, op, extack }).filter(([, v]) => v !== undefined));
  return Object.assign(out, { code, ...kept, field, object, cause: e });
}

export class LinkApi {
  constructor(private readonly h: Handle) {}

  /**
   * Creates a link in one request. A veth's peer can be born inside another
   * namespace under its final name, and the link can be created UP and
   * enslaved at once: the kernel applies all of it or none of it. Answers
   * with the kernel's echo of the new link and the master and alias it set;
   * its operstate is not final yet and a port's state is not in it (get()
   * reads those: docs/library.md says why it is not read back here).
   */
  async add(spec: LinkSpec): Promise<Link> {
    const args = linkAddArgs(spec);
    // The kernel refuses (ENOTCONN) to bring a veth peer up inside the request
    // that creates it (veth_open runs before the pair is joined), in this
    // namespace or another; do that second, and undo the link if it fails.
    const peer = args.peer;
    const peerUpLater = spec.kind === 'veth' && peer?.up === true;
    if (peerUpLater) delete peer!.up;
    const created = await this.created(spec, args);
    if (peerUpLater) {
      try {
        const setUp = (h: Handle) => h.link.set(spec.peer!.name ?? created.link ?? 0, { up: true });
        await (spec.peer!.netns !== undefined ? this.inNamespace(spec.peer!.netns, setUp) : setUp(this.h));
      } catch (e) {
        await this.h.run('link.del', { index: created.index }).catch(() => undefined);
        throw e;
      }
    }
    return created;
  }

  private async created(spec: LinkSpec, args: OpArgs['link.add']): Promise<Link> {
    let echoed: Link | undefined;
    try {
      echoed = await this.h.run('link.add', args);
    } catch (e) {
      // The kernel says "File exists" without pointing at an attribute: a
      // veth has two names in two namespaces. Say which one is taken.
      if (isNetlinkError(e, 'EEXIST') && e.field === undefined) throw await this.takenName(spec, e);
      throw e;
    }
    if (echoed) return echoed;
    // Created in another namespace: the kernel echoes it there, not here (and
    // an alias, which creation ignores, has to be set there too). One handle
    // there for both: the link is read first, so the alias goes to the index
    // just made and, if that fails, the undo deletes that index, not
    // whatever holds the name by then.
    if (spec.netns !== undefined) {
      return this.inNamespace(spec.netns, async (h) => {
        const made = await h.link.get(spec.name);
        if (args.alias === undefined) return made;
        try {
          await h.link.set(made.index, { alias: args.alias });
        } catch (e) {
          // Made but not finished: unmade before the error is reported.
          await h.link.del(made.index).catch(() => undefined);
          throw e;
        }
        return { ...made, alias: args.alias };
      });
    }
    return this.get(spec.name);
  }

  /** Changes a link; every field given is applied in one request (an IPv6 address generation mode given with `up: true` in one just before it, same hop: setRequests). */
  async set(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const reqs = setRequests(linkSetArgs(ref, changes));
    if (reqs.length === 1) await this.h.run('link.set', reqs[0]);
    else await this.h.runBatch(reqs.map((a) => ({ op: 'link.set' as const, args: a })));
  }

  /**
   * Applies changes to several links in one hop, in order. A failure stops
   * there: the NetlinkError's `failedIndex` says which item failed (the
   * ones before it are applied), as for Handle.runBatch.
   */
  async setEach(items: ReadonlyArray<readonly [LinkRef, LinkChanges]>): Promise<void> {
    const args = items.flatMap(([ref, changes]) => setRequests(linkSetArgs(ref, changes)));
    await this.h.runBatch(args.map((a) => ({ op: 'link.set' as const, args: a })));
  }

  /** Deletes a link (a veth takes its peer with it). */
  async del(ref: LinkRef): Promise<void> {
    await this.h.run('link.del', { index: v.linkRef('link', ref) });
  }

  /** Deletes every link of a group in one request: the kernel's batched teardown. */
  async delGroup(group: number): Promise<void> {
    await this.h.run('link.delGroup', { group: v.uint('group', group, 1, 0xffffffff) });
  }

  /** Reads one link with a targeted request. Throws ERR_PW_LINK_NOT_FOUND. */
  async get(ref: LinkRef): Promise<Link> {
    const link = await this.find(ref);
    if (!link) {
      throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `no link ${typeof ref === 'number' ? `with index ${ref}` : `named '${ref}'`} in ${this.h.describe()}`, { field: 'link', value: ref });
    }
    return link;
  }

  /** Like get, but null when there is no such link. */
  async find(ref: LinkRef): Promise<Link | null> {
    const r = v.linkRef('link', ref);
    // orNull: the addon answers null for ENODEV instead of an error.
    const link = await this.h.run('link.get', { ...(typeof r === 'number' ? { index: r } : { name: r }), orNull: true });
    return link ?? null;
  }

  /** Every link, or those of one master and/or kind (filtered by the kernel). */
  async list(filter: { master?: LinkRef; kind?: string } = {}): Promise<Link[]> {
    v.knownKeys('', v.object('filter', filter), ['master', 'kind']);
    const args: OpArgs['link.list'] = {};
    if (filter.master !== undefined) args.master = v.linkRef('master', filter.master);
    if (filter.kind !== undefined) args.kind = v.str('kind', filter.kind, 64);
    const links = await this.h.run('link.list', args);
    // Older kernels ignore dump filters: apply them again.
    return links.filter(
      (l) => (args.kind === undefined || l.kind === args.kind) && (typeof args.master !== 'number' || l.master === args.master),
    );
  }

  /**
   * Which name of a refused link.add already exists: the link's own (where
   * it was to be created) or a veth peer's (in the peer's namespace). The
   * kernel's error comes back pointing at that field and object; when
   * neither exists any more (deleted since), as the kernel said it.
   */
  private async takenName(spec: LinkSpec, e: NetlinkError): Promise<NetlinkError> {
    const where = (target: NetnsTarget | undefined) => (target === undefined ? this.h.describe() : target instanceof Netns ? `namespace ${target.describe()}` : `the namespace of pid ${target.pid}`);
    const exists = (target: NetnsTarget | undefined, name: string) => (target === undefined ? this.find(name) : this.inNamespace(target, (h) => h.link.find(name))).then((l) => l !== null, () => false);
    if (await exists(spec.netns, spec.name)) return pointAt(e, 'name', spec.name, `a link named '${spec.name}' already exists in ${where(spec.netns)}`);
    const peer = spec.kind === 'veth' ? spec.peer : undefined;
    if (peer?.name !== undefined && (await exists(peer.netns, peer.name)))
      return pointAt(e, 'peer.name', peer.name, `the peer's name '${peer.name}' is taken: a link of that name already exists in ${where(peer.netns)}`);
    return e;
  }

  /** Runs fn with a short-lived handle in another namespace (Handle opens it: this file only knows Handle's type). */
  private inNamespace<T>(target: NetnsTarget, fn: (h: Handle) => Promise<T>): Promise<T> {
    return this.h.elsewhere(target instanceof Netns ? target : { pid: target.pid }, fn);
  }
}
