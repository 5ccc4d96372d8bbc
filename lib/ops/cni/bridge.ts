// The network's bridge: found, or created (up, with pipewright's bridge
// mark) when missing, whatever its name; a concurrent ADD creating it first
// is fine. With isGateway it holds each subnet's gateway address, and the
// host forwards (as the reference bridge plugin does).
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Handle } from '../../core/handle';
import { addrArgs } from '../../core/api/addr';
import type { Link } from '../../core/types';
import { isNetlinkError } from '../../core/errors';
import { bridgeAlias } from '../ownership';
import { CniError, PW_ERR } from './errors';
import type { CniIp } from './result';

/** `looked`: the caller's own look for it, when it has one (undefined: looked for here). */
export async function ensureBridge(host: Handle, name: string, owner: string, mtu: number | undefined, looked?: Link | null): Promise<{ link: Link; created: boolean }> {
  const found = looked === undefined ? await host.link.find(name) : looked;
  if (found) return { link: await usable(host, found), created: false };
  try {
    const link = await host.link.add({ kind: 'bridge', name, up: true, ...(mtu ? { mtu } : {}), alias: bridgeAlias(owner) });
    return { link, created: true };
  } catch (e) {
    if (!isNetlinkError(e, 'EEXIST')) throw e;
    // Another ADD made it between our look and our request.
    const again = await host.link.find(name);
    if (!again) throw e;
    return { link: await usable(host, again), created: false };
  }
}

async function usable(host: Handle, l: Link): Promise<Link> {
  if (l.kind !== 'bridge') throw new CniError(PW_ERR.CONFLICT, `bridge "${l.name}" exists in the host namespace and is a ${l.kind ?? 'device without a kind'}, not a bridge`);
  if (!l.up) {
    await host.link.set(l.index, { up: true });
    return host.link.get(l.index);
  }
  return l;
}

/** The gateway addresses (gateway/prefix of its subnet) the bridge gets with isGateway. */
export function gatewayAddresses(ips: readonly CniIp[]): string[] {
  const out = new Set<string>();
  for (const ip of ips) if (ip.gateway) out.add(`${ip.gateway}/${ip.address.split('/')[1]}`);
  return [...out];
}

/**
 * With isGateway, the gateway addresses on the bridge, then the host forwards
 * for each family that has a gateway (as the reference bridge plugin does).
 * Needs only IPAM's answer and the bridge: asked beside the attach.
 */
export async function addGateways(host: Handle, bridge: Link, ips: readonly CniIp[], isGateway: boolean): Promise<void> {
  if (!isGateway) return;
  const gateways = gatewayAddresses(ips);
  if (gateways.length > 0) await host.runBatch(gateways.map((a) => ({ op: 'addr.replace', args: addrArgs(bridge.index, a) }) as const));
  const families = new Set(ips.filter((i) => i.gateway).map((i) => (i.address.includes(':') ? 6 : 4)));
  if (families.has(4)) await enable('/proc/sys/net/ipv4/ip_forward');
  if (families.has(6)) await enable('/proc/sys/net/ipv6/conf/all/forwarding');
}

/**
 * The bridge and the host end read afresh, in one hop, once the port is on
 * the bridge (the bridge's MAC follows its ports unless it was set; the host
 * end's port state is what an announcement starts from).
 */
export async function readHostSide(host: Handle, bridge: Link, hostEnd: string): Promise<{ bridge: Link; hostEnd: Link }> {
  const [br, he] = (await host.runBatch([
    { op: 'link.get', args: { index: bridge.index } },
    { op: 'link.get', args: { name: hostEnd } },
  ])) as [Link, Link];
  return { bridge: br, hostEnd: he };
}

/**
 * A forwarding sysctl of the namespace this process is in, set to 1 unless
 * it is already. Read on the JS thread: a procfs file of two bytes is
 * answered from memory (~10 µs), where an asynchronous read costs four trips
 * to libuv's pool during every ADD; the rare write stays asynchronous.
 */
async function enable(path: string): Promise<void> {
  if (readFileSync(path, 'utf8').trim() === '1') return;
  await writeFile(path, '1');
}
