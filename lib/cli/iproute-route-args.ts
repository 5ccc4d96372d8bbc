// `ip route` argument syntax (the common forms) → a RouteSpec for the
// library, or a filter for show. Pure: the command does the netlink part.
//
//   [-4|-6] add|del|replace [TYPE] [to] default|PREFIX [via [inet|inet6] GW] [dev IF]
//           [table N] [metric|priority|preference N] [src A] [scope S] [proto P] [onlink] [mtu N]
//   [-4|-6] [show|list] [table N|all] [dev IF] [via GW] [default|PREFIX]
import type { RouteSpec, RouteType } from '../core/types';
import * as v from '../core/validate';
import { PipewrightError } from '../core/errors';
import { UsageError, parseUint, iprouteReader } from './args-common';

export interface RouteShowFilter {
  family: 4 | 6;
  /** Default main. */
  table: number;
  dev?: string;
  via?: string;
  /** Exact destination match: 'default' or 'ADDRESS/LEN'. */
  dst?: string;
}

export type RouteCommand =
  | { verb: 'add' | 'del' | 'replace'; spec: RouteSpec }
  | { verb: 'show'; filter: RouteShowFilter };

const VERBS: Record<string, 'add' | 'del' | 'replace' | 'show'> = {
  add: 'add', del: 'del', delete: 'del', replace: 'replace', show: 'show', list: 'show', ls: 'show', lst: 'show',
};
const TYPES: readonly RouteType[] = ['unicast', 'blackhole', 'unreachable', 'prohibit', 'local'];
const SCOPES: Record<string, NonNullable<RouteSpec['scope']>> = { global: 'universe', universe: 'universe', site: 'site', link: 'link', host: 'host', nowhere: 'nowhere' };
const PROTOS = ['boot', 'static', 'kernel'] as const;
/** iproute2's names for the reserved tables (/etc/iproute2/rt_tables). */
export const TABLE_IDS: Record<string, number> = { default: 253, main: 254, local: 255 };

export function parseTable(word: string, text: string): number {
  return TABLE_IDS[text] ?? parseUint(`${word} table`, text, 1, 0xffffffff);
}

/** Validation errors of the library, as usage errors prefixed with the command. */
export function checked<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PipewrightError && e.code === 'ERR_PW_INVALID_ARGUMENT' && !(e instanceof UsageError)) throw new UsageError(`${prefix}: ${e.message}`);
    throw e;
  }
}

/** Normalises a destination: 'default', or 'ADDRESS/LEN' (a bare address is a host route). */
function dstOf(word: string, text: string, family: 4 | 6 | undefined): { dst: string; family: 4 | 6 } {
  if (text === 'default' || text === 'all' || text === '0/0' || text === '::/0') return { dst: 'default', family: family ?? (text === '::/0' ? 6 : 4) };
  const c = checked(word, () => v.cidr('dst', text, { 4: 32, 6: 128 }));
  if (family !== undefined && c.family !== family) throw new UsageError(`${word}: ${text} is IPv${c.family}, but -${family} was given`);
  return { dst: c.prefixLen === 0 ? 'default' : `${c.address}/${c.prefixLen}`, family: c.family };
}

export function parseRouteArgs(args: readonly string[]): RouteCommand {
  const r = iprouteReader('route', args, VERBS, 'add, del, replace, show or list');
  const { words: a, verb, word, value } = r;
  let family = r.family;

  let dst: string | undefined;
  const spec: Partial<RouteSpec> = {};
  const filter: Partial<RouteShowFilter> = {};
  const setDst = (text: string) => {
    if (dst !== undefined) throw new UsageError(`${word}: unexpected '${text}' (the destination is already ${dst})`);
    const d = dstOf(word, text, family);
    dst = d.dst;
    family = d.family;
  };
  const only = (key: string) => {
    if (verb === 'show') throw new UsageError(`route show: '${key}' is not supported as a filter (use table, dev, via or a prefix)`);
  };

  while (a.length) {
    const tok = a.shift()!;
    switch (tok) {
      case 'to': setDst(value('to')); break;
      case 'via': {
        let gw = value('via');
        if (gw === 'inet' || gw === 'inet6') gw = a.shift() ?? '';
        const ip = checked(word, () => v.ip('via', gw, family));
        family = ip.family;
        if (verb === 'show') filter.via = ip.address;
        else spec.gateway = ip.address;
        break;
      }
      case 'dev': case 'oif': {
        const dev = checked(word, () => v.ifname('dev', value('dev')));
        if (verb === 'show') filter.dev = dev;
        else spec.dev = dev;
        break;
      }
      case 'table': {
        const t = value('table');
        // Every table at once needs an unfiltered dump, which the library's route.list does not offer.
        if (verb === 'show' && t === 'all') throw new UsageError("route show: 'table all' is not supported; name one table (main, local, default or a number)");
        if (verb === 'show') filter.table = parseTable(word, t);
        else spec.table = parseTable(word, t);
        break;
      }
      case 'metric': case 'priority': case 'preference': only(tok); spec.metric = parseUint(`${word} ${tok}`, value('metric'), 0, 0xffffffff); break;
      case 'src': only(tok); spec.src = checked(word, () => v.ip('src', value('src'), family)).address; break;
      case 'scope': {
        only(tok);
        const s = value('scope');
        if (!SCOPES[s]) throw new UsageError(`${word}: unknown scope '${s}' (expected global, site, link, host or nowhere)`);
        spec.scope = SCOPES[s];
        break;
      }
      case 'proto': case 'protocol': {
        only(tok);
        const p = value('proto');
        spec.proto = (PROTOS as readonly string[]).includes(p) ? (p as RouteSpec['proto']) : parseUint(`${word} proto`, p, 0, 255);
        break;
      }
      case 'onlink': only(tok); spec.onlink = true; break;
      case 'mtu': only(tok); spec.mtu = parseUint(`${word} mtu`, value('mtu'), 68, 65535); break;
      default:
        if ((TYPES as readonly string[]).includes(tok) && dst === undefined && spec.type === undefined && verb !== 'show') {
          spec.type = tok as RouteType;
        } else if (/^[0-9a-fA-F:.]+(\/\d+)?$/.test(tok) || ['default', 'all'].includes(tok)) setDst(tok);
        else throw new UsageError(`${word}: unknown argument '${tok}'`);
    }
  }

  if (verb === 'show') {
    const f: RouteShowFilter = { family: family ?? 4, table: filter.table ?? TABLE_IDS.main! };
    if (filter.dev !== undefined) f.dev = filter.dev;
    if (filter.via !== undefined) f.via = filter.via;
    if (dst !== undefined) f.dst = dst;
    return { verb, filter: f };
  }
  if (dst === undefined) throw new UsageError(`${word}: a destination is required ('default' or a prefix such as 10.1.0.0/16)`);
  if (dst === 'default' && family === 6 && spec.gateway === undefined)
    throw new UsageError(`${word}: an IPv6 default route needs 'via GATEWAY' (the family is taken from the gateway)`);
  return { verb, spec: { ...spec, dst } };
}
