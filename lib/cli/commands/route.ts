// `pipewright route GUEST ARGS...`: pipework ran `ip netns exec PID ip route
// ARGS`; we parse the same arguments and send the request natively through a
// Handle in the guest's namespace. show/list print like `ip route`.
import type { Handle } from '../../core/handle';
import type { Route, RouteSpec } from '../../core/types';
import type { CommandContext } from '../registry';
import { helpFor } from '../help';
import { parsePipeworkArgs, Parsed } from '../pipework-args';
import { parseRouteArgs, RouteShowFilter, TABLE_IDS } from '../iproute-route-args';
import { Io, line, printJson } from '../report';
import { EXIT } from '../exit-codes';
import { inGuest, linkNames } from '../in-guest';

export type RouteParsed = Extract<Parsed, { kind: 'route' }>;

/** `pipewright route GUEST ...`: the words go through pipework's grammar, as `pipework route` did. */
export async function run({ argv, io }: CommandContext): Promise<number> {
  const p = parsePipeworkArgs(['route', ...argv]);
  if (p.kind === 'help') {
    io.stdout.write(helpFor('route'));
    return EXIT.OK;
  }
  return runRoute(p as RouteParsed, io);
}

const TABLE_NAMES = new Map(Object.entries(TABLE_IDS).map(([name, id]) => [id, name]));

function dstText(r: Route): string {
  if (r.dst === 'default') return 'default';
  return r.dstLen === (r.family === 4 ? 32 : 128) ? r.dst : `${r.dst}/${r.dstLen}`;
}

/** One route as `ip route` prints it (proto boot, scope universe and the main table are implied). */
export function formatRoute(r: Route, names: Map<number, string>): string {
  const p: string[] = [];
  if (r.type !== 'unicast') p.push(r.type);
  p.push(dstText(r));
  if (r.gateway) p.push('via', r.gateway);
  if (r.dev !== undefined) p.push('dev', names.get(r.dev) ?? `if${r.dev}`);
  if (r.table !== TABLE_IDS.main) p.push('table', TABLE_NAMES.get(r.table) ?? String(r.table));
  if (r.proto !== 'boot') p.push('proto', String(r.proto));
  if (r.scope !== 'universe') p.push('scope', String(r.scope));
  if (r.src) p.push('src', r.src);
  if (r.metric !== undefined) p.push('metric', String(r.metric));
  if (r.onlink) p.push('onlink');
  return p.join(' ');
}

function matches(r: Route, f: RouteShowFilter, names: Map<number, string>): boolean {
  if (f.dst !== undefined && (r.dst === 'default' ? 'default' : `${r.dst}/${r.dstLen}`) !== f.dst) return false;
  if (f.dev !== undefined && (r.dev === undefined || names.get(r.dev) !== f.dev)) return false;
  if (f.via !== undefined && r.gateway !== f.via) return false;
  return true;
}

/**
 * `ip route del PREFIX` needs nothing but the destination; the library wants
 * a dev, gateway or type to be sure of the family and the route. Take them
 * from the route that is there; when none is, let the kernel say so (ESRCH).
 */
async function completeDel(h: Handle, spec: RouteSpec): Promise<RouteSpec> {
  if (spec.gateway !== undefined || spec.dev !== undefined || spec.type !== undefined) return spec;
  const family = spec.dst !== 'default' && spec.dst.includes(':') ? 6 : 4;
  const routes = await h.route.list({ family, table: spec.table ?? TABLE_IDS.main! });
  const found = routes.find(
    (r) => (r.dst === 'default' ? 'default' : `${r.dst}/${r.dstLen}`) === spec.dst && (spec.metric === undefined || r.metric === spec.metric),
  );
  if (!found) return { ...spec, type: 'unicast' };
  return found.dev !== undefined ? { ...spec, dev: found.dev } : { ...spec, type: found.type as RouteSpec['type'] & string };
}

export async function runRoute(p: RouteParsed, io: Io): Promise<number> {
  const cmd = parseRouteArgs(p.args);
  return inGuest(p.guest, async (h) => {
    if (cmd.verb === 'show') {
      const names = await linkNames(h);
      const routes = (await h.route.list({ family: cmd.filter.family, table: cmd.filter.table })).filter((r) => matches(r, cmd.filter, names));
      if (p.json) printJson(io, routes.map((r) => (r.dev !== undefined ? { ...r, devName: names.get(r.dev) ?? null } : r)));
      else for (const r of routes) line(io.stdout, formatRoute(r, names));
      return EXIT.OK;
    }
    const spec = cmd.verb === 'del' ? await completeDel(h, cmd.spec) : cmd.spec;
    await h.route[cmd.verb](spec);
    if (p.json) printJson(io, { ok: true, verb: cmd.verb, route: cmd.spec });
    return EXIT.OK;
  });
}
