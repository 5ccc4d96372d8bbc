// What a re-apply removes: the bridges and overlays this topology created
// (its mark: same owner, same topology) that the file no longer names. Each
// removal's undo re-creates the device as it was read (attributes, mark,
// addresses, flood list), so a failed apply leaves the host as it found it.
// A bridge that would still have ports nobody removes is refused: deleting
// it would cut those guests off.
import type { Handle } from '../../../core/handle';
import type { Link } from '../../../core/types';
import { parseDeclaredAlias } from '../../ownership';
import type { Step } from '../../transaction';
import { FLOOD_MAC, floodPeers } from '../flood';
import { conflict } from '../ownership';
import type { NormalizedTopology } from './spec';

export interface Removals {
  bridges: string[];
  overlays: string[];
  steps: Step<unknown>[];
}

const ours = (l: Link, kind: 'bridge' | 'overlay', t: NormalizedTopology) => {
  const m = parseDeclaredAlias(l.alias);
  return m !== null && m.kind === kind && m.owner === t.owner && m.topology === t.name;
};

export async function planRemovals(h: Handle, t: NormalizedTopology, hostEndsRemoved: Set<string>): Promise<Removals> {
  const links = await h.link.list();
  const byIndex = new Map(links.map((l) => [l.index, l]));
  const out: Removals = { bridges: [], overlays: [], steps: [] };
  const gone = new Set(hostEndsRemoved);
  for (const l of links) {
    if (l.kind !== 'vxlan' || !ours(l, 'overlay', t) || t.overlays.some((o) => o.name === l.name)) continue;
    out.overlays.push(l.name);
    gone.add(l.name);
    const peers = floodPeers(await h.fdb.list({ dev: l.index }), l.index);
    const master = l.master ? byIndex.get(l.master)?.name : undefined;
    const dev = l.vxlan?.dev ? byIndex.get(l.vxlan.dev)?.name : undefined;
    out.steps.push({
      describe: `delete vxlan ${l.name} (topology ${t.name}'s, no longer declared; it flooded to ${peers.join(', ') || 'nobody'})`,
      undo: `create vxlan ${l.name} again as it was`,
      run: async () => {
        await h.link.del(l.index);
        return async () => {
          const x = l.vxlan ?? {};
          const again = await h.link.add({
            kind: 'vxlan', name: l.name, vni: x.vni!, learning: false, up: l.up,
            ...(x.port ? { port: x.port } : {}), ...(x.local ? { local: x.local } : {}), ...(dev ? { dev } : {}),
            ...(l.mtu ? { mtu: l.mtu } : {}), ...(master ? { master } : {}),
          });
          await h.link.set(again.index, { alias: l.alias! });
          for (const dst of peers) await h.fdb.append({ dev: again.index, lladdr: FLOOD_MAC, dst });
        };
      },
    });
  }
  for (const l of links) {
    if (l.kind !== 'bridge' || !ours(l, 'bridge', t) || t.bridges.some((b) => b.name === l.name)) continue;
    const kept = links.filter((p) => p.master === l.index && !gone.has(p.name));
    if (kept.length) throw conflict(`bridge ${l.name} (topology ${t.name}'s) is no longer declared, but ${kept.map((p) => p.name).join(', ')} ${kept.length === 1 ? 'is' : 'are'} still on it and not removed by this apply; detach ${kept.length === 1 ? 'it' : 'them'} first, or keep declaring the bridge`, 'bridges', l.name);
    out.bridges.push(l.name);
    const addrs = await h.addr.list({ dev: l.index });
    const own = addrs.filter((a) => a.permanent && !(a.family === 6 && a.address.startsWith('fe80:')));
    out.steps.push({
      describe: `delete bridge ${l.name} (topology ${t.name}'s, no longer declared)`,
      undo: `create bridge ${l.name} again as it was`,
      run: async () => {
        await h.link.del(l.index);
        return async () => {
          const again = await h.link.add({ kind: 'bridge', name: l.name, up: l.up, ...(l.mtu ? { mtu: l.mtu } : {}), ...(l.bridge?.stp !== undefined ? { stp: l.bridge.stp } : {}) });
          await h.link.set(again.index, { alias: l.alias! });
          for (const a of own) await h.addr.add(again.index, `${a.address}/${a.prefixLen}`);
        };
      },
    });
  }
  return out;
}
