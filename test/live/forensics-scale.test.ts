// Scale: 500 namespaces and 1,000 links (500 veth pairs from one host
// namespace into 500 guests, the host ends on one bridge). A full scan and
// a doctor run over all of it must take seconds, not minutes; the timings
// are printed for the record.
import t from 'tap';
import { Handle, Netns } from '../../lib';
import { doctor, scanNamespaces, topology } from '../../lib/ops/forensics';
import { withScene } from '../helpers/scene';

const GUESTS = 500;


t.test(`scan and doctor over ${GUESTS} namespaces and ${GUESTS * 2} veth links`, (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const guests: Netns[] = [];
    s.defer(async () => {
      for (const g of guests) await g.close();
    });
    const built = performance.now();
    for (let i = 0; i < GUESTS; i++) {
      const g = await Netns.create();
      guests.push(g);
      await s.host.link.add({ kind: 'veth', name: `vs${i}`, up: true, master: 'br0', peer: { name: 'eth0', netns: g, up: true } });
    }
    t.comment(`built in ${Math.round(performance.now() - built)} ms`);

    const scan = await scanNamespaces({ all: true, detail: true });
    const ours = new Set([s.hostNs.id, ...guests.map((g) => g.id)]);
    const found = scan.namespaces.filter((n) => ours.has(n.id));
    t.equal(found.length, GUESTS + 1, 'every namespace found once');
    t.equal(found.reduce((sum, n) => sum + (n.links?.filter((l) => l.kind === 'veth').length ?? 0), 0), GUESTS * 2, 'every veth link read');
    t.comment(`scan: ${scan.namespaces.length} namespaces on the host in ${scan.elapsedMs} ms`);
    t.ok(scan.elapsedMs < 15_000, 'the scan takes seconds');

    const r = await doctor({ host: s.host });
    t.comment(`doctor: ${r.namespaces} namespaces, ${r.checks.length} checks in ${r.elapsedMs} ms`);
    t.ok(r.elapsedMs < 30_000, 'doctor takes seconds');
    t.same(r.checks.filter((c) => c.id === 'veth-host-ends' || c.id === 'bridge-port-state').map((c) => c.ok), [true, true], 'and finds the healthy setup healthy');

    const started = performance.now();
    const topo = await topology({ scan, namespaces: [...ours] });
    t.equal(topo.edges.filter((e) => e.kind === 'veth' && e.crossNs).length, GUESTS, 'every pair placed across namespaces');
    if (topo.unresolved.length) t.comment(`unplaced: ${JSON.stringify(topo.unresolved.slice(0, 5))}`);
    t.comment(`topology of ${topo.namespaces.length} namespaces in ${Math.round(performance.now() - started)} ms`);
    const h = await Handle.open(guests[0]!);
    t.equal((await h.link.get('eth0')).up, true);
    await h.close();
  }),
);
