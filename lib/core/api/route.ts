// handle.route: IPv4/IPv6 routes.
import type { Handle } from '../handle';
import type { Route, RouteFilter, RouteSpec } from '../types';
import * as v from '../validate';
import { invalidArgument } from '../errors';
import type { OpArgs } from '../op-types';

const SCOPES = ['universe', 'site', 'link', 'host', 'nowhere'] as const;
const TYPES = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'local'] as const;
const PROTOS = ['boot', 'static', 'kernel'] as const;

/** Validates a route; `forDelete` relaxes what only creating needs (a gateway, dev or type). */
export function routeArgs(spec: RouteSpec, forDelete = false): OpArgs['route.add'] {
  const o = v.object('route', spec) as Record<string, unknown>;
  v.knownKeys('', o, ['family', 'dst', 'gateway', 'dev', 'src', 'table', 'metric', 'scope', 'proto', 'type', 'onlink', 'mtu']);
  const a: Partial<OpArgs['route.add']> = {};
  let family: 4 | 6 | undefined = o.family === undefined ? undefined : (Number(v.oneOf('family', String(o.family), ['4', '6'] as const)) as 4 | 6);
  if (o.gateway !== undefined) {
    const gw = v.ip('gateway', o.gateway, family);
    a.gateway = gw.address;
    family = gw.family;
  }
  if (o.dst === 'default' || o.dst === undefined) {
    if (o.dst === undefined) throw invalidArgument('dst', undefined, "is required ('default' or a prefix such as 10.1.0.0/16)");
    a.dst = 'default';
    a.dstLen = 0;
  } else {
    const c = v.cidr('dst', o.dst, { 4: 32, 6: 128 });
    if (family && c.family !== family)
      throw o.gateway !== undefined
        ? invalidArgument('gateway', o.gateway, `is IPv${family} but dst is IPv${c.family}`)
        : invalidArgument('dst', o.dst, `is IPv${c.family} but the route is IPv${family}`);
    family = c.family;
    a.dst = c.address;
    a.dstLen = c.prefixLen;
  }
  if (family === undefined) family = 4;
  a.family = family;
  if (o.dev !== undefined) a.dev = v.linkRef('dev', o.dev);
  if (!forDelete && a.gateway === undefined && a.dev === undefined && o.type === undefined)
    throw invalidArgument('route', spec, 'needs a gateway, a dev, or a type such as blackhole');
  if (o.src !== undefined) a.src = v.ip('src', o.src, family).address;
  if (o.table !== undefined) a.table = v.uint('table', o.table, 1, 0xffffffff);
  if (o.metric !== undefined) a.metric = v.uint('metric', o.metric, 0, 0xffffffff);
  if (o.scope !== undefined) a.scope = v.oneOf('scope', o.scope, SCOPES);
  if (o.proto !== undefined) a.proto = typeof o.proto === 'number' ? v.uint('proto', o.proto, 0, 255) : v.oneOf('proto', o.proto, PROTOS);
  if (o.type !== undefined) a.type = v.oneOf('type', o.type, TYPES);
  if (o.onlink !== undefined) a.onlink = v.bool('onlink', o.onlink);
  if (o.mtu !== undefined) a.mtu = v.mtu('mtu', o.mtu);
  return a as OpArgs['route.add'];
}

export class RouteApi {
  constructor(private readonly h: Handle) {}

  /** Adds a route; EEXIST if an identical one exists. */
  async add(spec: RouteSpec): Promise<void> {
    await this.h.run('route.add', routeArgs(spec));
  }

  /** Adds or replaces (e.g. a default route that may already exist). */
  async replace(spec: RouteSpec): Promise<void> {
    await this.h.run('route.replace', routeArgs(spec));
  }

  async del(spec: RouteSpec): Promise<void> {
    await this.h.run('route.del', routeArgs(spec, true));
  }

  /** Routes of the main table by default; {table: N} for another, {table: 'all'} for every table. */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    v.knownKeys('', v.object('filter', filter), ['family', 'table']);
    const args: OpArgs['route.list'] = {};
    if (filter.family !== undefined) args.family = v.oneOf('family', String(filter.family), ['4', '6'] as const) === '4' ? 4 : 6;
    if (filter.table !== 'all') args.table = filter.table === undefined ? 254 : v.uint('table', filter.table, 0, 0xffffffff);
    return this.h.run('route.list', args);
  }
}
