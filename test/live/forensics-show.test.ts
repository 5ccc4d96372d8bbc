// topology() for a fixed scene, checked as a graph (nodes and edges), then
// rendered in every format; the SVG goes through Graphviz (WASM) for real.
import t from 'tap';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Handle, Netns } from '../../lib';
import { topology, renderTable, renderDot, renderMermaid, renderSvg, scanNamespaces, pairVeths, pairVethsExact } from '../../lib/ops/forensics';
import type { Topology } from '../../lib/ops/forensics';
import { inNetns, withScene } from '../helpers/scene';

const octet = (process.pid % 200) + 20;

function edgeSet(topo: Topology, name: (id: string) => string): string[] {
  // A veth pair has no direction: its ends are listed in name order.
  return topo.edges
    .map((e) => {
      const ends = [name(e.from), name(e.to)];
      if (e.kind === 'veth') ends.sort();
      return `${e.kind} ${ends.join(' ')}${e.crossNs ? ' cross' : ''}`;
    })
    .sort();
}


t.test('the topology of a fixed scene: boxes, bridges and ports, veth pairs across namespaces, lower devices', (t) =>
  withScene(t, async (s) => {
    const h = s.host;
    const g1 = await s.guest({ named: true });
    const g2 = await s.guest();
    await h.link.add({ kind: 'bridge', name: 'br0', up: true });
    await h.addr.add('br0', `10.245.${octet}.1/24`);
    await h.link.add({ kind: 'veth', name: 'vs1', up: true, master: 'br0', peer: { name: 'eth0', netns: g1.ns, up: true } });
    await h.link.add({ kind: 'veth', name: 'vs2', up: true, master: 'br0', peer: { name: 'eth0', netns: g2.ns, up: true } });
    await g1.handle.addr.add('eth0', `10.245.${octet}.2/24`);
    // An underlay veth (both ends here) carrying a vxlan port of the bridge and a macvlan moved into g2.
    await h.link.add({ kind: 'veth', name: 'under0', up: true, peer: { name: 'under1', up: true } });
    await h.link.add({ kind: 'vxlan', name: 'vx0', vni: 7, port: 4789, dev: 'under0', mtu: 1450, master: 'br0', up: true });
    await h.link.add({ kind: 'macvlan', name: 'mv0', parent: 'under0', mode: 'bridge', netns: g2.ns });
    await inNetns(s.hostNs, 'bridge', ['link', 'set', 'dev', 'vs2', 'hairpin', 'on']);

    const ids = [s.hostNs.id, g1.ns.id, g2.ns.id];
    const topo = await topology({ namespaces: ids });
    t.same(topo.namespaces.map((n) => n.id).sort(), [...ids].sort(), 'exactly the namespaces asked for');
    const label = new Map(topo.namespaces.flatMap((n) => n.links.map((l) => [l.id, `${n.id === s.hostNs.id ? 'host' : n.id === g1.ns.id ? 'g1' : 'g2'}:${l.name}`])));
    const name = (id: string) => label.get(id) ?? id;

    const nodes = topo.namespaces.flatMap((n) => n.links.map((l) => name(l.id))).sort();
    t.same(nodes, ['g1:eth0', 'g1:lo', 'g2:eth0', 'g2:lo', 'g2:mv0', 'host:br0', 'host:lo', 'host:under0', 'host:under1', 'host:vs1', 'host:vs2', 'host:vx0'].sort(), 'one node per link');
    t.same(edgeSet(topo, name), [
      'lower g2:mv0 host:under0 cross',
      'lower host:vx0 host:under0',
      'port host:vs1 host:br0',
      'port host:vs2 host:br0',
      'port host:vx0 host:br0',
      'veth host:under0 host:under1',
      'veth g1:eth0 host:vs1 cross',
      'veth g2:eth0 host:vs2 cross',
    ].sort(), 'veth pairs across namespaces, ports to their bridge, lower devices (the macvlan across namespaces)');
    t.same(topo.unresolved, [], 'every link placed');

    const host = topo.namespaces.find((n) => n.id === s.hostNs.id)!;
    t.equal(host.bridgeNfCallIptables, true, 'bridge-nf-call-iptables read in the namespace that has the bridge');
    t.equal(topo.namespaces.find((n) => n.id === g1.ns.id)!.bridgeNfCallIptables, undefined, 'and only there');
    t.match(host.links.find((l) => l.name === 'vs2'), { port: { state: 'forwarding', hairpin: true } }, 'port state and hairpin');
    t.match(host.links.find((l) => l.name === 'vx0'), { vxlan: { vni: 7 }, mtu: 1450 });
    t.same(host.links.find((l) => l.name === 'br0')!.addresses, [`10.245.${octet}.1/24`]);
    t.match(topo.namespaces.find((n) => n.id === g1.ns.id)!.label, `'${g1.ns.name}'`, 'a named namespace is labelled by its name');

    const table = renderTable(topo);
    t.match(table, new RegExp(`netns ${s.hostNs.id} .*bridge-nf-call-iptables=1`));
    t.match(table, /vs1 +veth +UP +1500 +br0 +eth0 @ '/, 'the table names each peer and its namespace');
    t.match(table, /vx0 +vxlan vni 7 +UP/);

    const dot = renderDot(topo);
    t.equal(dot.match(/subgraph cluster_/g)?.length, 3, 'dot: a cluster per namespace');
    t.equal(dot.match(/ -- /g)?.length, topo.edges.length, 'dot: an edge per edge');
    t.match(dot, /label="vx0 \(vxlan\)\\nvni 7\\nmtu 1450, up"/);

    const mermaid = renderMermaid(topo);
    t.match(mermaid, /^flowchart LR\n/);
    t.equal(mermaid.match(/^ {2}subgraph /gm)?.length, 3);
    t.equal(mermaid.match(/ (---|-\.->|==>) /g)?.length, topo.edges.length);

    const started = Date.now();
    const svg = await renderSvg(topo);
    t.comment(`SVG rendered in ${Date.now() - started} ms (${svg.length} bytes)`);
    t.match(svg, /<svg[\s\S]*<\/svg>\s*$/, 'an SVG document');
    t.equal(svg.match(/class="cluster"/g)?.length, 3, 'with the three namespace boxes');
    t.match(svg, />br0 \(bridge\)</);
    const dir = mkdtempSync(join(tmpdir(), 'pw-show-'));
    writeFileSync(join(dir, 'topology.svg'), svg);
    rmSync(dir, { recursive: true, force: true });
  }),
);

t.test('look-alike setups: indexes alone are ambiguous, the kernel\'s namespace ids settle it', async (t) => {
  // Two copies of the same setup: in each, the host ends are indexes 2 and 3 with the
  // guest ends at the same indexes, so every candidate check passes for both copies.
  const made: Netns[] = [];
  t.teardown(async () => {
    for (const n of made) await n.close();
  });
  const pairs: Array<{ host: Netns; guest: Netns }> = [];
  for (let i = 0; i < 2; i++) {
    const host = await Netns.create();
    const guest = await Netns.create();
    made.push(host, guest);
    const h = await Handle.open(host);
    await h.link.add({ kind: 'veth', name: 'twin0', peer: { name: 'eth0', netns: guest } });
    await h.link.add({ kind: 'veth', name: 'twin1', peer: { name: 'eth1', netns: guest } });
    await h.close();
    pairs.push({ host, guest });
  }
  const scan = await scanNamespaces({ all: true, detail: true });
  const idx = (ns: Netns, name: string) => scan.namespaces.find((n) => n.id === ns.id)!.links!.find((l) => l.name === name)!.index;
  const guess = pairVeths(scan.namespaces);
  t.ok(guess.ambiguous.some((a) => a.at.ns === pairs[0]!.host.id), 'from the dumps alone, the twins are ambiguous');
  const exact = await pairVethsExact(scan.namespaces);
  for (const { host, guest } of pairs) {
    for (const [h, g] of [['twin0', 'eth0'], ['twin1', 'eth1']] as const) {
      t.same(exact.peerOf({ ns: host.id, index: idx(host, h) }), { ns: guest.id, index: idx(guest, g) }, `${h} pairs with its own guest's ${g}`);
      t.same(exact.peerOf({ ns: guest.id, index: idx(guest, g) }), { ns: host.id, index: idx(host, h) }, 'and back');
    }
  }
  t.notOk(exact.ambiguous.some((a) => made.some((n) => n.id === a.at.ns)), 'nothing of ours left ambiguous');
});
