// Exact pairing for the veths the link dumps leave ambiguous. On a host with
// many look-alike setups (every sandbox's first guest veth is index 2 with its
// peer at index 3) indexes alone cannot tell whose peer is whose. The kernel
// can: RTM_GETNSID, asked in namespace X about namespace Y's fd, returns the
// id X gives Y, which is what X's veths report as IFLA_LINK_NETNSID. Only the
// namespaces involved in an ambiguity are opened, once each.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { pairVeths, Pairing } from './pairs';
import type { ScannedNetns } from './types';

async function openExpected(ns: ScannedNetns): Promise<Netns | null> {
  if (!ns.openedVia) return null;
  try {
    const n = await Netns.open({ path: ns.openedVia });
    if (n.ino === ns.ino) return n;
    await n.close();
  } catch {
    // its holder went away since the scan: it cannot settle anything now
  }
  return null;
}

export async function pairVethsExact(namespaces: readonly ScannedNetns[]): Promise<Pairing> {
  const first = pairVeths(namespaces);
  if (first.ambiguous.length === 0) return first;
  const byId = new Map(namespaces.map((n) => [n.id, n]));
  // X -> the namespaces its ambiguous veths might point into.
  const ask = new Map<string, Set<string>>();
  for (const a of first.ambiguous) {
    const set = ask.get(a.at.ns) ?? new Set<string>();
    for (const c of a.candidates) set.add(c.ns);
    ask.set(a.at.ns, set);
  }
  const known = new Map<string, string>();
  for (const [x, ys] of ask) {
    const xns = await openExpected(byId.get(x)!);
    if (!xns) continue;
    try {
      const h = await Handle.open(xns);
      try {
        for (const y of ys) {
          const yns = await openExpected(byId.get(y)!);
          if (!yns) continue;
          try {
            const { nsid } = await h.run('netns.nsid', { fd: yns.fd });
            if (nsid !== null) known.set(`${x}#${nsid}`, y);
          } finally {
            await yns.close();
          }
        }
      } finally {
        await h.close();
      }
    } finally {
      await xns.close();
    }
  }
  return known.size ? pairVeths(namespaces, known) : first;
}
