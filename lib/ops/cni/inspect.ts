// The attachment as it is in the kernel, compared with a result: what CHECK
// reports, and what tells an ADD run again that its attachment is intact.
// Each problem is one precise sentence (the port released, a link down, an
// address missing...); no problems means it is as the result says.
import type { Handle } from '../../core/handle';
import type { Route } from '../../core/types';
import type { CniResult } from './result';

export interface Expectation {
  bridge: string;
  hostEnd: string;
  ifname: string;
  netns: string;
  result: CniResult;
}

export async function inspectAttachment(host: Handle, gh: Handle, x: Expectation): Promise<string[]> {
  const problems: string[] = [];
  const [guest, hostEnd, bridge] = await Promise.all([gh.link.find(x.ifname), host.link.find(x.hostEnd), host.link.find(x.bridge)]);
  if (!bridge) problems.push(`bridge ${x.bridge} is missing from the host namespace`);
  else if (bridge.kind !== 'bridge') problems.push(`${x.bridge} is a ${bridge.kind ?? 'device'}, not a bridge`);
  if (!guest) {
    problems.push(`interface ${x.ifname} is missing from the container's namespace ${x.netns}`);
    if (hostEnd) problems.push(`host end ${x.hostEnd} is left without its container interface`);
    return problems;
  }
  if (!hostEnd) problems.push(`host end ${x.hostEnd} is missing from the host namespace`);
  else {
    if (guest.kind !== 'veth' || guest.link !== hostEnd.index || hostEnd.link !== guest.index) problems.push(`${x.ifname} in the container is not the peer of host end ${x.hostEnd}`);
    if (!hostEnd.up) problems.push(`link down: host end ${x.hostEnd} is down`);
    if (bridge && hostEnd.master !== bridge.index) problems.push(`port released: host end ${x.hostEnd} is ${hostEnd.master ? `enslaved to index ${hostEnd.master}` : 'not enslaved to any bridge'}, not to ${x.bridge}`);
  }
  if (!guest.up) problems.push(`link down: ${x.ifname} in the container is down`);
  const r = x.result;
  const idx = r.interfaces.findIndex((i) => i.name === x.ifname && i.sandbox === x.netns);
  const iface = idx >= 0 ? r.interfaces[idx] : undefined;
  if (iface?.mac && guest.address && iface.mac.toLowerCase() !== guest.address.toLowerCase()) problems.push(`${x.ifname} has MAC ${guest.address}, the result says ${iface.mac}`);
  if (iface?.mtu && guest.mtu !== iface.mtu) problems.push(`${x.ifname} has MTU ${guest.mtu}, the result says ${iface.mtu}`);
  const hostIface = r.interfaces.find((i) => i.name === x.hostEnd && !i.sandbox);
  if (hostEnd && hostIface?.mac && hostEnd.address && hostIface.mac.toLowerCase() !== hostEnd.address.toLowerCase()) problems.push(`host end ${x.hostEnd} has MAC ${hostEnd.address}, the result says ${hostIface.mac}`);
  const addrs = new Set((await gh.addr.list({ dev: guest.index })).map((a) => `${a.address}/${a.prefixLen}`));
  for (const ip of r.ips) {
    if (ip.interface !== idx) continue;
    if (!addrs.has(ip.address)) problems.push(`address missing: ${ip.address} is not on ${x.ifname}`);
  }
  if (r.routes.length) {
    const routes = [...(await gh.route.list({ family: 4 })), ...(await gh.route.list({ family: 6 }))];
    for (const rt of r.routes) if (!routes.some((k) => sameRoute(k, rt.dst, rt.gw, rt.table))) problems.push(`route missing: ${rt.dst}${rt.gw ? ` via ${rt.gw}` : ''} is not in the container's routing table${rt.table ? ` ${rt.table}` : ''}`);
  }
  return problems;
}

function sameRoute(k: Route, dst: string, gw: string | undefined, table: number | undefined): boolean {
  const [a, len] = dst.split('/');
  const isDefault = Number(len) === 0;
  const dstOk = isDefault ? k.dst === 'default' || (k.dstLen === 0) : k.dst === a && k.dstLen === Number(len);
  return dstOk && (gw === undefined || k.gateway === gw) && (table === undefined ? k.table === 254 : k.table === table);
}
