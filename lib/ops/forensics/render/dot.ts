// The topology in Graphviz's language: a cluster per namespace, a node per
// link, and three kinds of edge (veth pair: bold, bridge port: dashed, lower
// device: dotted). Node ids are derived from the graph ids, so the output is
// stable for the same host state.
import type { TopoLink, TopoNamespace, Topology } from '../topology';

/** A double-quoted DOT string. */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** A DOT identifier for a graph id ("4:4026532/3" -> "n4_4026532_3"). */
export function dotId(id: string): string {
  return `n${id.replace(/[^0-9A-Za-z]/g, '_')}`;
}

const SHAPES: Record<string, string> = { bridge: 'box3d', vxlan: 'hexagon', macvlan: 'parallelogram', macvtap: 'parallelogram', vlan: 'parallelogram', tun: 'cds' };

function nodeLabel(l: TopoLink): string {
  const lines = [`${l.name}${l.kind ? ` (${l.kind})` : ''}`];
  if (l.vxlan) lines.push(`vni ${l.vxlan.vni ?? '?'}${l.vxlan.remote ? ` -> ${l.vxlan.remote}` : ''}`);
  lines.push(...l.addresses);
  const bits = [`mtu ${l.mtu ?? '?'}`, l.up ? (l.lowerUp ? 'up' : 'no carrier') : 'DOWN'];
  if (l.port?.state && l.port.state !== 'forwarding') bits.push(l.port.state);
  if (l.port?.hairpin) bits.push('hairpin');
  lines.push(bits.join(', '));
  return lines.join('\n');
}

function clusterLabel(ns: TopoNamespace): string {
  const flags = [ns.flags.current && 'current', ns.flags.orphan && 'orphan', ns.flags.unreachableFromHere && 'unreachable from here'].filter(Boolean);
  const lines = [`netns ${ns.id}`, ns.label];
  if (flags.length) lines.push(flags.join(', '));
  if (ns.bridgeNfCallIptables !== undefined) lines.push(`bridge-nf-call-iptables=${ns.bridgeNfCallIptables === null ? '?' : ns.bridgeNfCallIptables ? 1 : 0}`);
  return lines.join('\n');
}

export function renderDot(t: Topology): string {
  const out = ['graph pipewright {', '  rankdir=LR;', '  compound=true;', '  node [fontname="Helvetica", fontsize=10, shape=box, style=rounded];', '  edge [fontname="Helvetica", fontsize=9];'];
  for (const ns of t.namespaces) {
    out.push(`  subgraph cluster_${ns.id.replace(/[^0-9A-Za-z]/g, '_')} {`);
    out.push(`    label=${dotString(clusterLabel(ns))};`);
    out.push(`    style=${ns.flags.orphan ? '"dashed"' : '"solid"'}; color=${ns.flags.orphan ? '"red"' : '"gray40"'};`);
    for (const l of ns.links) {
      const attrs = [`label=${dotString(nodeLabel(l))}`];
      const shape = SHAPES[l.kind ?? ''];
      if (shape) attrs.push(`shape=${shape}`, 'style=solid');
      if (!l.up) attrs.push('color="gray60"', 'fontcolor="gray40"');
      out.push(`    ${dotId(l.id)} [${attrs.join(', ')}];`);
    }
    // An empty cluster is not drawn at all: give it an invisible anchor.
    if (ns.links.length === 0) out.push(`    ${dotId(`${ns.id}/empty`)} [label="", shape=point, style=invis];`);
    out.push('  }');
  }
  const style: Record<string, string> = { veth: 'penwidth=2', port: 'style=dashed', lower: 'style=dotted' };
  for (const e of t.edges) out.push(`  ${dotId(e.from)} -- ${dotId(e.to)} [${style[e.kind]}, tooltip=${dotString(e.kind)}];`);
  out.push('}');
  return out.join('\n') + '\n';
}
