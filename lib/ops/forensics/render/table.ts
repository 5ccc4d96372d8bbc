// The topology as text: one block per namespace, one row per link, the far
// end of every veth named with the namespace it lives in.
import type { TopoLink, Topology } from '../topology';

function pad(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

function state(l: TopoLink): string {
  if (!l.up) return 'DOWN';
  return l.lowerUp ? 'UP' : 'NO-CARRIER';
}

export function renderTable(t: Topology): string {
  const byId = new Map(t.namespaces.flatMap((n) => n.links.map((l) => [l.id, { link: l, ns: n }] as const)));
  const peers = new Map<string, string>();
  const lowers = new Map<string, string>();
  const where = (id: string, from: string) => {
    const x = byId.get(id);
    if (!x) return id;
    return x.ns.id === from.split('/')[0] ? x.link.name : `${x.link.name} @ ${x.ns.label}`;
  };
  for (const e of t.edges) {
    if (e.kind === 'veth') {
      peers.set(e.from, where(e.to, e.from));
      peers.set(e.to, where(e.from, e.to));
    } else if (e.kind === 'lower') lowers.set(e.from, where(e.to, e.from));
  }
  const out: string[] = [];
  for (const ns of t.namespaces) {
    const flags = [ns.flags.current && 'current', ns.flags.orphan && 'orphan', ns.flags.unreachableFromHere && 'unreachable-from-here'].filter(Boolean);
    const nf = ns.bridgeNfCallIptables === undefined ? '' : `  bridge-nf-call-iptables=${ns.bridgeNfCallIptables === null ? '?' : ns.bridgeNfCallIptables ? 1 : 0}`;
    out.push(`netns ${ns.id}  ${ns.label}${flags.length ? `  [${flags.join(', ')}]` : ''}${nf}`);
    if (ns.error) out.push(`  (could not open: ${ns.error})`);
    const rows: string[][] = [['', 'IF', 'KIND', 'STATE', 'MTU', 'MASTER', 'PEER/LOWER', 'PORT', 'ADDRESSES']];
    for (const l of ns.links) {
      const master = l.master ? byId.get(l.master)?.link.name ?? l.master : '';
      const port = l.port ? [l.port.state, l.port.hairpin ? 'hairpin' : ''].filter(Boolean).join(',') : '';
      const kind = l.kind ?? '-';
      const vx = l.vxlan ? ` vni ${l.vxlan.vni ?? '?'}${l.vxlan.remote ? ` -> ${l.vxlan.remote}` : ''}` : '';
      rows.push(['', `${l.index}: ${l.name}`, kind + vx, state(l), String(l.mtu ?? ''), master, peers.get(l.id) ?? lowers.get(l.id) ?? '', port, l.addresses.join(' ')]);
    }
    out.push(...pad(rows));
    out.push('');
  }
  if (t.unresolved.length) {
    out.push('unplaced:');
    for (const u of t.unresolved) out.push(`  ${u.link}: ${u.reason}`);
  }
  return out.join('\n').trimEnd() + '\n';
}
