// The container side beyond what attach sets: the IPAM result's further
// addresses and its routes (a route without "gw" goes via the gateway of the
// first address of its family, as the reference plugins do), and with
// isDefaultGateway a default route via the bridge's address.
import type { Handle } from '../../core/handle';
import type { RouteSpec } from '../../core/types';
import { unsupportedField } from './errors';
import type { CniIp, CniRoute } from './result';

const SCOPES: Record<number, RouteSpec['scope']> = { 0: 'universe', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

/** The routes to install: the IPAM's, plus a default route per family for isDefaultGateway. */
export function routesFor(ips: readonly CniIp[], routes: readonly CniRoute[], isDefaultGateway: boolean): CniRoute[] {
  const out = [...routes];
  if (isDefaultGateway) {
    for (const fam of [4, 6] as const) {
      const gw = ips.find((i) => (i.address.includes(':') ? 6 : 4) === fam && i.gateway)?.gateway;
      const dflt = fam === 4 ? '0.0.0.0/0' : '::/0';
      if (gw && !out.some((r) => r.dst === dflt)) out.push({ dst: dflt, gw });
    }
  }
  return out;
}

/** Fills in a missing gw from the addresses' gateways (what is installed is what the result says). */
export function withGateways(ips: readonly CniIp[], routes: readonly CniRoute[]): CniRoute[] {
  return routes.map((r) => {
    if (r.gw) return r;
    const fam = r.dst.includes(':') ? 6 : 4;
    const gw = ips.find((i) => (i.address.includes(':') ? 6 : 4) === fam && i.gateway)?.gateway;
    return gw ? { ...r, gw } : r;
  });
}

export async function configureGuest(gh: Handle, ifname: string, extraIps: readonly CniIp[], routes: readonly CniRoute[]): Promise<void> {
  for (const ip of extraIps) await gh.addr.replace(ifname, ip.address);
  for (const [i, r] of routes.entries()) {
    if (r.mtu !== undefined || r.advmss !== undefined) throw unsupportedField(`routes[${i}]`, r, 'sets mtu or advmss on a route, which pipewright does not do yet');
    const [addr, len] = r.dst.split('/');
    const spec: RouteSpec = { dst: Number(len) === 0 ? 'default' : r.dst, dev: ifname, ...(Number(len) === 0 ? { family: addr!.includes(':') ? 6 : 4 } : {}) };
    if (r.gw) spec.gateway = r.gw;
    if (r.table !== undefined) spec.table = r.table;
    if (r.priority !== undefined) spec.metric = r.priority;
    if (r.scope !== undefined) {
      const s = SCOPES[r.scope];
      if (!s) throw unsupportedField(`routes[${i}].scope`, r.scope, 'is not a route scope (0, 200, 253, 254 or 255)');
      spec.scope = s;
    }
    await gh.route.replace(spec);
  }
}
