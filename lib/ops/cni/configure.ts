// The container side beyond what attach sets (the interface, up, its host
// end a port of the bridge): the IPAM result's addresses and its routes (a
// route without "gw" goes via the gateway of the first address of its
// family, as the reference plugins do), and with isDefaultGateway a default
// route via the bridge's address. Kept out of attach so that attach can run
// while IPAM is still choosing the addresses (add.ts).
import type { Handle } from '../../core/handle';
import type { Address, RouteSpec } from '../../core/types';
import type { OpCall } from '../../core/op-types';
import { addrArgs } from '../../core/api/addr';
import { routeArgs } from '../../core/api/route';
import { PipewrightError } from '../../core/errors';
import * as v from '../../core/validate';
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

/**
 * The IPAM result's addresses (IPv4 ones with their subnet's broadcast, as
 * attach gives its address) and the routes, in one hop to the container's
 * namespace; then the addresses are read back: none is assumed from the
 * requests having succeeded (in the same hop, after them). The interface
 * is named by index (the one attach read back). A failure throws; the
 * caller's rollback removes the interface, and with it whatever part of this
 * was done. Resolves with the addresses as parsed.
 */
export async function configureGuest(gh: Handle, guest: { index: number; name: string }, ips: readonly CniIp[], routes: readonly CniRoute[]): Promise<v.HostCidr[]> {
  const wanted = ips.map((ip, i) => v.hostCidr(`ips[${i}].address`, ip.address));
  const calls: OpCall[] = wanted.map((a) => ({ op: 'addr.replace', args: addrArgs(guest.index, a, a.broadcast ? { broadcast: a.broadcast } : {}) }));
  for (const [i, r] of routes.entries()) calls.push({ op: 'route.replace', args: routeArgs(routeSpec(guest.index, r, i)) });
  if (calls.length === 0) return wanted;
  // The read-back rides in the same hop, after the changes: the kernel's
  // answer to it is the state they left.
  if (wanted.length > 0) calls.push({ op: 'addr.list', args: { index: guest.index } });
  const results = await gh.runBatch(calls);
  if (wanted.length === 0) return wanted;
  const held = (results[results.length - 1] as Address[]).filter((a) => a.index === guest.index);
  for (const a of wanted)
    if (!held.some((h) => h.address === a.address && h.prefixLen === a.prefixLen))
      throw new PipewrightError('ERR_PW_VERIFY_FAILED', `${guest.name} in the container does not have ${a.address}/${a.prefixLen} after it was added`);
  return wanted;
}

function routeSpec(dev: number, r: CniRoute, i: number): RouteSpec {
  if (r.mtu !== undefined || r.advmss !== undefined) throw unsupportedField(`routes[${i}]`, r, 'sets mtu or advmss on a route, which pipewright does not do yet');
  const [addr, len] = r.dst.split('/');
  const spec: RouteSpec = { dst: Number(len) === 0 ? 'default' : r.dst, dev, ...(Number(len) === 0 ? { family: addr!.includes(':') ? 6 : 4 } : {}) };
  if (r.gw) spec.gateway = r.gw;
  if (r.table !== undefined) spec.table = r.table;
  if (r.priority !== undefined) spec.metric = r.priority;
  if (r.scope !== undefined) {
    const s = SCOPES[r.scope];
    if (!s) throw unsupportedField(`routes[${i}].scope`, r.scope, 'is not a route scope (0, 200, 253, 254 or 255)');
    spec.scope = s;
  }
  return spec;
}
