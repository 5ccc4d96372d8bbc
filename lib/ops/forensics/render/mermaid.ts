// The topology as a Mermaid flowchart (renders in GitHub/GitLab markdown):
// a subgraph per namespace, veth pairs as solid lines, bridge ports as
// dotted arrows to their bridge, lower devices as thick arrows.
import type { TopoLink, Topology } from '../topology';

/** Mermaid label text: quotes and angle brackets as entities, lines as <br/>. */
function text(s: string): string {
  return s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

function id(graphId: string): string {
  return `n${graphId.replace(/[^0-9A-Za-z]/g, '_')}`;
}

function label(l: TopoLink): string {
  const parts = [`${l.name}${l.kind ? ` (${l.kind})` : ''}`, ...l.addresses];
  const bits = [`mtu ${l.mtu ?? '?'}`, l.up ? (l.lowerUp ? 'up' : 'no carrier') : 'DOWN'];
  if (l.port?.state && l.port.state !== 'forwarding') bits.push(l.port.state);
  if (l.port?.hairpin) bits.push('hairpin');
  parts.push(bits.join(', '));
  return parts.map(text).join('<br/>');
}

export function renderMermaid(t: Topology): string {
  const out = ['flowchart LR'];
  for (const ns of t.namespaces) {
    const flags = [ns.flags.orphan && 'orphan', ns.flags.unreachableFromHere && 'unreachable from here'].filter(Boolean);
    const nf = ns.bridgeNfCallIptables === undefined ? '' : ` bridge-nf-call-iptables=${ns.bridgeNfCallIptables === null ? '?' : ns.bridgeNfCallIptables ? 1 : 0}`;
    out.push(`  subgraph ${id(`ns ${ns.id}`)}["${text(`netns ${ns.id} ${ns.label}${flags.length ? ` [${flags.join(', ')}]` : ''}${nf}`)}"]`);
    for (const l of ns.links) {
      const shape = l.kind === 'bridge' ? ['[[', ']]'] : l.kind === 'vxlan' ? ['{{', '}}'] : ['(', ')'];
      out.push(`    ${id(l.id)}${shape[0]}"${label(l)}"${shape[1]}`);
    }
    out.push('  end');
  }
  const arrow: Record<string, string> = { veth: '---', port: '-.->', lower: '==>' };
  for (const e of t.edges) out.push(`  ${id(e.from)} ${arrow[e.kind]} ${id(e.to)}`);
  return out.join('\n') + '\n';
}
