// The state of a namespace as a comparable value: links (name, kind, master
// name, up), addresses and routes. Two equal snapshots around a failed
// operation prove it left nothing behind.
import { readFileSync } from 'node:fs';
import type { Handle } from '../../lib';

export interface Snapshot {
  links: string[];
  addrs: string[];
  routes: string[];
}

export async function snapshot(h: Handle): Promise<Snapshot> {
  const links = await h.link.list();
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  const addrs = await h.addr.list();
  const routes = [...(await h.route.list({ family: 4 })), ...(await h.route.list({ family: 6 }))];
  return {
    links: links.map((l) => `${l.name} ${l.kind ?? '-'} master=${l.master ? byIndex.get(l.master) : '-'} ${l.up ? 'up' : 'down'}`).sort(),
    // IPv6 link-local addresses come and go with links: compare the rest.
    addrs: addrs.filter((a) => !a.address.startsWith('fe80:')).map((a) => `${byIndex.get(a.index)} ${a.address}/${a.prefixLen}`).sort(),
    routes: routes.filter((r) => !r.dst.startsWith('fe80:') && r.dst !== 'ff00::').map((r) => `${r.dst}/${r.dstLen} via ${r.gateway ?? '-'} dev ${r.dev ? byIndex.get(r.dev) : '-'}`).sort(),
  };
}

/**
 * Mount points of this process's mount namespace (a failed attach must not
 * leave one). Test files run in parallel in one sandbox and share its mount
 * namespace: named namespaces of other test processes (their names carry
 * their PID, see uniqueName) are not ours to compare.
 */
export function mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!)
    .filter((m) => !m.startsWith('/run/netns/') || m.includes(`-${process.pid}-`))
    .sort();
}
