// A model of the kernel objects attach works with (links, addresses,
// routes, namespace ids), answering the op table's operations the way
// rtnetlink does for what pipewright asks: enough to run attach plans and
// their rollback in a unit test. What it does not model it refuses loudly.
import { NetlinkError } from '../../lib/core/errors';
import { OP_ARG_KEYS, type OpArgs, type OpCall, type OpName } from '../../lib/core/op-types';
import type { Address, Link, Route } from '../../lib/core/types';

const ERRNO: Record<string, number> = { EPERM: 1, ENOENT: 2, ENOMEM: 12, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENETUNREACH: 101 };

/** A failure as the addon reports it: a NetlinkError with code, errno and op. */
export function kernelError(code: string, op: string, detail = ''): NetlinkError {
  const errno = ERRNO[code];
  const e = new NetlinkError(`${op}: ${code}${detail ? ` - ${detail}` : ''}`);
  return Object.assign(e, { code, op, syscall: 'netlink', ...(errno ? { errno } : {}), ...(detail ? { detail } : {}) });
}

interface FakeLink extends Link {
  /** For a veth: the peer's namespace (its index is `link`). */
  peerNs?: FakeNamespace;
}

export class FakeNamespace {
  readonly links = new Map<number, FakeLink>();
  addrs: Address[] = [];
  routes: Route[] = [];
  /** The ids this namespace gives other namespaces (IFLA_LINK_NETNSID). */
  readonly nsids = new Map<FakeNamespace, number>();
  #nextIndex = 2;

  constructor(
    readonly ino: number,
    readonly cookie: string,
  ) {
    this.links.set(1, { index: 1, name: 'lo', kind: null, flags: 0x49, up: true, lowerUp: true, mtu: 65536, master: null, group: 0 });
  }

  nsidOf(other: FakeNamespace, assign: boolean): number | null {
    if (other === this) return null;
    let id = this.nsids.get(other);
    if (id === undefined && assign) this.nsids.set(other, (id = this.nsids.size));
    return id ?? null;
  }

  byName(name: string): FakeLink | undefined {
    return [...this.links.values()].find((l) => l.name === name);
  }

  /** A link named or numbered by the caller, as the addon resolves names (ENODEV when absent). */
  resolve(op: string, field: string, ref: number | string): FakeLink {
    const l = typeof ref === 'number' ? this.links.get(ref) : this.byName(ref);
    if (!l) throw Object.assign(kernelError(typeof ref === 'string' ? 'ERR_PW_LINK_NOT_FOUND' : 'ENODEV', op), { field });
    return l;
  }

  place(link: FakeLink, wanted?: number): FakeLink {
    if (this.byName(link.name)) throw kernelError('EEXIST', 'link.add', `a link named ${link.name} exists`);
    const index = wanted !== undefined && !this.links.has(wanted) ? wanted : this.#nextIndex;
    while (this.links.has(this.#nextIndex) || this.#nextIndex === index) this.#nextIndex++;
    const placed = { ...link, index };
    this.links.set(index, placed);
    return placed;
  }

  /** Removes a link and what hangs on it: its addresses and routes, its ports' master. */
  unlink(index: number): void {
    this.links.delete(index);
    this.addrs = this.addrs.filter((a) => a.index !== index);
    this.routes = this.routes.filter((r) => r.dev !== index);
    for (const l of this.links.values()) if (l.master === index) l.master = null;
  }

  /** A snapshot to compare before and after (what `ip link/addr/route` would show). */
  snapshot(): { links: string[]; addrs: string[]; routes: string[] } {
    const links = [...this.links.values()].map((l) => `${l.name} ${l.kind ?? '-'} ${l.up ? 'up' : 'down'} master=${l.master ?? '-'} mtu=${l.mtu ?? '-'} alias=${l.alias ?? ''}`).sort();
    const addrs = this.addrs.map((a) => `${this.links.get(a.index)?.name}:${a.address}/${a.prefixLen}`).sort();
    const routes = this.routes.map((r) => `${r.dst}/${r.dstLen} via=${r.gateway ?? '-'} dev=${r.dev ?? '-'} scope=${r.scope}`).sort();
    return { links, addrs, routes };
  }
}

/** What the kernel needs from the transport to read an op's netns fd. */
export type NsOfFd = (fd: number) => FakeNamespace;

const copy = (l: FakeLink): Link => {
  const { peerNs: _peerNs, ...rest } = l;
  const out: Link = { ...rest, flags: l.up ? 0x1043 : 0x1002, lowerUp: l.up };
  if (l.master !== null) out.port = { kind: 'bridge', state: l.up ? 'forwarding' : 'disabled' };
  return out;
};

/** Runs one operation in `ns` as the kernel would. */
export function runOp(ns: FakeNamespace, call: OpCall, nsOfFd: NsOfFd): unknown {
  const allowed = OP_ARG_KEYS[call.op] as readonly string[] | undefined;
  if (!allowed) throw new TypeError(`op: unknown operation '${String(call.op)}'`);
  for (const k of Object.keys(call.args)) if (!allowed.includes(k)) throw Object.assign(kernelError('ERR_PW_INVALID_ARGUMENT', call.op, `${k}: is not an argument of ${call.op}`), { field: k });
  // The addon resolves link names given for these fields first, in the same hop.
  const args: Record<string, unknown> = { ...call.args };
  for (const key of ['index', 'master', 'parent', 'dev'])
    if (typeof args[key] === 'string') args[key] = ns.resolve(call.op, key, args[key] as string).index;
  return handlers[call.op](ns, args as never, nsOfFd);
}

type Handlers = { [K in OpName]: (ns: FakeNamespace, a: OpArgs[K], nsOfFd: NsOfFd) => unknown };

function setLink(ns: FakeNamespace, l: FakeLink, a: OpArgs['link.set'], nsOfFd: NsOfFd): void {
  if (a.master !== undefined) {
    if (a.master === 0) l.master = null;
    else {
      const m = ns.resolve('link.set', 'master', a.master);
      if (m.kind !== 'bridge') throw kernelError('EINVAL', 'link.set', `${m.name} is not a bridge`);
      l.master = m.index;
    }
  }
  if (a.up !== undefined) l.up = a.up;
  if (a.mtu !== undefined) l.mtu = a.mtu;
  if (a.address !== undefined) l.address = a.address;
  if (a.group !== undefined) l.group = a.group;
  if (a.alias !== undefined) {
    if (a.alias === '') delete l.alias;
    else l.alias = a.alias;
  }
  if (a.name !== undefined && a.name !== l.name) {
    if (ns.byName(a.name)) throw kernelError('EEXIST', 'link.set', `a link named ${a.name} exists`);
    l.name = a.name;
  }
  if (a.netnsFd !== undefined) {
    const to = nsOfFd(a.netnsFd);
    if (to !== ns) {
      ns.unlink(l.index);
      const moved = to.place({ ...l, master: null, up: false });
      if (moved.peerNs) {
        const peer = moved.peerNs.links.get(moved.link!);
        if (peer) {
          peer.peerNs = to;
          peer.link = moved.index;
        }
      }
    }
  }
}

const handlers: Handlers = {
  'link.add': (ns, a, nsOfFd) => {
    const home = a.netnsFd !== undefined ? nsOfFd(a.netnsFd) : ns;
    const name = a.name ?? `${a.kind}${home.links.size}`;
    const base: FakeLink = { index: 0, name, kind: a.kind, flags: 0, up: a.up ?? false, lowerUp: false, mtu: a.mtu ?? 1500, master: null, group: a.group ?? 0 };
    if (a.address !== undefined) base.address = a.address;
    if (a.master !== undefined) {
      const m = ns.resolve('link.add', 'master', a.master);
      base.master = m.index;
    }
    if (a.kind === 'macvlan' || a.kind === 'vlan') {
      const parent = ns.resolve('link.add', 'parent', a.parent!);
      if (a.kind === 'macvlan' && !parent.up) throw kernelError('ENETDOWN', 'link.add');
      base.link = parent.index;
      if (a.mode) base.mode = a.mode;
      if (a.vlanId !== undefined) base.vlanId = a.vlanId;
    }
    if (a.kind === 'veth') {
      const peerHome = a.peer?.netnsFd !== undefined ? nsOfFd(a.peer.netnsFd) : home;
      const peerName = a.peer?.name ?? `veth${peerHome.links.size}`;
      if (peerHome.byName(peerName) || (peerHome === home && peerName === name)) throw kernelError('EEXIST', 'link.add', `a link named ${peerName} exists`);
      const made = home.place(base);
      const peer = peerHome.place({ index: 0, name: peerName, kind: 'veth', flags: 0, up: false, lowerUp: false, mtu: a.peer?.mtu ?? made.mtu!, master: null, group: a.peer?.group ?? 0, link: made.index, peerNs: home, ...(a.peer?.address ? { address: a.peer.address } : {}) });
      made.link = peer.index;
      made.peerNs = peerHome;
      const id = home.nsidOf(peerHome, true);
      if (id !== null) made.linkNetnsId = id;
      const back = peerHome.nsidOf(home, true);
      if (back !== null) peer.linkNetnsId = back;
      if (a.alias !== undefined && home === ns) made.alias = a.alias;
      return home === ns ? copy(made) : undefined;
    }
    const made = home.place(base);
    if (a.alias !== undefined && home === ns) made.alias = a.alias;
    return home === ns ? copy(made) : undefined;
  },
  'link.set': (ns, a, nsOfFd) => {
    setLink(ns, ns.resolve('link.set', 'index', a.index), a, nsOfFd);
  },
  'link.del': (ns, a) => {
    const l = ns.resolve('link.del', 'index', a.index ?? a.name!);
    ns.unlink(l.index);
    if (l.kind === 'veth' && l.peerNs) l.peerNs.unlink(l.link!);
    // A macvlan or vlan goes with its lower device.
    for (const other of [...ns.links.values()]) if ((other.kind === 'macvlan' || other.kind === 'vlan') && other.link === l.index) ns.unlink(other.index);
  },
  'link.delGroup': (ns, a) => {
    for (const l of [...ns.links.values()]) if (l.group === a.group) handlers['link.del'](ns, { index: l.index }, () => ns);
  },
  'link.get': (ns, a) => {
    const l = a.index !== undefined ? ns.links.get(typeof a.index === 'number' ? a.index : -1) ?? ns.byName(String(a.index)) : ns.byName(a.name!);
    if (!l) {
      if (a.orNull) return null;
      throw kernelError('ENODEV', 'link.get');
    }
    return copy(l);
  },
  'link.list': (ns, a) => {
    const master = a.master === undefined ? undefined : ns.resolve('link.list', 'master', a.master).index;
    return [...ns.links.values()].filter((l) => (master === undefined || l.master === master) && (a.kind === undefined || l.kind === a.kind)).map(copy);
  },
  'addr.add': (ns, a) => addAddr(ns, a, false),
  'addr.replace': (ns, a) => addAddr(ns, a, true),
  'addr.del': (ns, a) => {
    const l = ns.resolve('addr.del', 'index', a.index);
    const before = ns.addrs.length;
    ns.addrs = ns.addrs.filter((x) => !(x.index === l.index && x.address === a.address && x.prefixLen === a.prefixLen));
    if (ns.addrs.length === before) throw kernelError('EADDRNOTAVAIL', 'addr.del');
  },
  'addr.list': (ns, a) => ns.addrs.filter((x) => (a.index === undefined || x.index === a.index) && (a.family === undefined || x.family === a.family)).map((x) => ({ ...x })),
  'route.add': (ns, a) => addRoute(ns, a, false),
  'route.replace': (ns, a) => addRoute(ns, a, true),
  'route.del': (ns, a) => {
    const i = ns.routes.findIndex((r) => sameRoute(r, a));
    if (i < 0) throw kernelError('ESRCH', 'route.del');
    ns.routes.splice(i, 1);
  },
  'route.list': (ns, a) => ns.routes.filter((r) => (a.family === undefined || r.family === a.family) && (a.table === undefined || r.table === a.table)).map((r) => ({ ...r })),
  'rule.add': notModelled('rule.add'),
  'rule.del': notModelled('rule.del'),
  'rule.list': () => [],
  'neigh.add': notModelled('neigh.add'),
  'neigh.replace': notModelled('neigh.replace'),
  'neigh.append': notModelled('neigh.append'),
  'neigh.del': notModelled('neigh.del'),
  'neigh.announce': (ns, a) => {
    ns.resolve('neigh.announce', 'index', a.index);
  },
  'neigh.list': () => [],
  'netns.nsid': (ns, a, nsOfFd) => ({ nsid: a.fd === undefined ? null : ns.nsidOf(nsOfFd(a.fd), false) }),
  'netns.nsidAssign': (ns, a, nsOfFd) => {
    const other = nsOfFd(a.fd);
    if (ns.nsidOf(other, false) !== null) throw kernelError('EEXIST', 'netns.nsidAssign');
    ns.nsidOf(other, true);
  },
  'netns.cookie': (ns) => ({ cookie: ns.cookie }),
};

function notModelled(op: string): () => never {
  return () => {
    throw new Error(`the fake kernel does not model ${op}`);
  };
}

function addAddr(ns: FakeNamespace, a: OpArgs['addr.add'], replace: boolean): void {
  const l = ns.resolve('addr.add', 'index', a.index);
  const family = a.address.includes(':') ? 6 : 4;
  const i = ns.addrs.findIndex((x) => x.index === l.index && x.address === a.address);
  if (i >= 0 && !replace) throw kernelError('EEXIST', 'addr.add');
  const entry: Address = { index: l.index, family, address: a.address, prefixLen: a.prefixLen, scope: 'universe', flags: 0x80, permanent: true, ...(a.broadcast ? { broadcast: a.broadcast } : {}) };
  if (i >= 0) ns.addrs[i] = entry;
  else ns.addrs.push(entry);
}

function sameRoute(r: Route, a: OpArgs['route.add']): boolean {
  const dst = a.dst === 'default' ? 'default' : a.dst;
  return r.dst === dst && r.dstLen === (a.dst === 'default' ? 0 : a.dstLen ?? (r.family === 4 ? 32 : 128)) && r.table === (a.table ?? 254);
}

function addRoute(ns: FakeNamespace, a: OpArgs['route.add'], replace: boolean): void {
  const dev = a.dev === undefined ? undefined : ns.resolve('route.add', 'dev', a.dev);
  if (dev && !dev.up) throw kernelError('ENETDOWN', 'route.add');
  const family = a.family ?? (a.dst.includes(':') ? 6 : 4);
  const route: Route = {
    family, dst: a.dst, dstLen: a.dst === 'default' ? 0 : a.dstLen ?? (family === 4 ? 32 : 128), table: a.table ?? 254,
    scope: a.scope ?? 'universe', proto: a.proto ?? 'boot', type: String(a.type ?? 'unicast'), flags: 0, onlink: a.onlink ?? false,
    ...(a.gateway ? { gateway: a.gateway } : {}), ...(dev ? { dev: dev.index } : {}),
  };
  const i = ns.routes.findIndex((r) => sameRoute(r, a));
  if (i >= 0 && !replace) throw kernelError('EEXIST', 'route.add');
  if (i >= 0) ns.routes[i] = route;
  else ns.routes.push(route);
}
