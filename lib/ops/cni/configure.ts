// The container side beyond what attach sets (the interface, up, its host
// end a port of the bridge): the IPAM result's addresses and its routes (a
// route without "gw" goes via the gateway of the first address of its
// family, as the reference plugins do), and with isDefaultGateway a default
// route via the bridge's address. attach runs while IPAM is still choosing
// the addresses (add.ts), and adds them once they are known, in its hop to
// the container (../attach/guest-settings.ts).
import type { Handle } from '../../core/handle';
import type { Address, RouteSpec } from '../../core/types';
import type { GuestSettings } from '../attach/guest-settings';
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
 * What the container's interface gets from an IPAM result: its addresses
 * (IPv4 ones with their subnet's broadcast, as attach gives its address) and
 * the routes, checked now (a route pipewright cannot install fails the ADD
 * before anything is sent). attach adds them in the hop that brings the
 * interface up (../attach/guest-settings.ts).
 */
export function guestSettingsFor(ips: readonly CniIp[], routes: readonly CniRoute[]): GuestSettings {
  return { addresses: ips.map((ip, i) => v.hostCidr(`ips[${i}].address`, ip.address)), routes: routes.map((r, i) => routeSpec(r, i)) };
}

/**
 * The settings in one hop to the container's namespace, for an attachment
 * that was already in place (attach did not add them); then the addresses
 * are read back: none is assumed from the requests having succeeded (in the
 * same hop, after them). The interface is named by index. A failure throws;
 * the caller's rollback removes the interface, and with it whatever part of
 * this was done. Resolves with the addresses.
 */
export async function configureGuest(gh: Handle, guest: { index: number; name: string }, settings: GuestSettings): Promise<v.HostCidr[]> {
  const wanted = settings.addresses;
  const calls: OpCall[] = wanted.map((a) => ({ op: 'addr.replace', args: addrArgs(guest.index, a, a.broadcast ? { broadcast: a.broadcast } : {}) }));
  for (const r of settings.routes) calls.push({ op: 'route.replace', args: routeArgs({ ...r, dev: guest.index }) });
  if (calls.length === 0) return wanted;
  if (wanted.length > 0) calls.push({ op: 'addr.list', args: { index: guest.index } });
  const results = await gh.runBatch(calls);
  if (wanted.length === 0) return wanted;
  const held = (results[results.length - 1] as Address[]).filter((a) => a.index === guest.index);
  for (const a of wanted)
    if (!held.some((h) => h.address === a.address && h.prefixLen === a.prefixLen))
      throw new PipewrightError('ERR_PW_VERIFY_FAILED', `${guest.name} in the container does not have ${a.address}/${a.prefixLen} after it was added`);
  return wanted;
}

function routeSpec(r: CniRoute, i: number): GuestSettings['routes'][number] {
  if (r.mtu !== undefined || r.advmss !== undefined) throw unsupportedField(`routes[${i}]`, r, 'sets mtu or advmss on a route, which pipewright does not do yet');
  const [addr, len] = r.dst.split('/');
  const spec: GuestSettings['routes'][number] = { dst: Number(len) === 0 ? 'default' : r.dst, ...(Number(len) === 0 ? { family: addr!.includes(':') ? 6 : 4 } : {}) };
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
