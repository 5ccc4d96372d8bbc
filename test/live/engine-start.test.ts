// An engine starting over a journal with many stale entries (guests that died
// while no engine ran: a host reboot of the runtime, a crash) and one live
// guest whose port an agent released meanwhile. The live port is put back
// first; the stale entries are cleaned after it, a few at a time, from one
// read of the host's links; the live guest and a decoy guest keep their
// entries, and the journal holds nothing else afterwards.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withScene, inNetns, uniqueName } from '../helpers/scene';
import { followed, node, privateStateDir, startEngine, until } from '../helpers/engine';
import { attach, Netns } from '../../lib';

const STALE = 120;

t.test('an engine starting over stale entries puts back the live port first, then cleans the stale ones; the live keep theirs', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => void remove());
    const journal = join(dir, 'attachments');

    // The stale entries first (the journal's oldest): real attaches of guests that then die.
    const own = process.env.PW_STATE_DIR;
    process.env.PW_STATE_DIR = dir;
    const doomed: Netns[] = [];
    // A test that fails half-way still leaves no named namespace behind (a deleted one is closed).
    s.defer(async () => {
      for (const ns of doomed) if (!ns.closed) await ns.delete();
    });
    try {
      for (let i = 0; i < STALE; i += 20) {
        const batch = await Promise.all(Array.from({ length: Math.min(20, STALE - i) }, () => Netns.create({ name: uniqueName('stale') })));
        doomed.push(...batch);
        await Promise.all(batch.map((ns, j) => attach({ host: s.host, hostIf: 'br0', guest: ns, address: `10.9.${1 + ((i + j) >> 8)}.${((i + j) & 255) + 2}/16` })));
      }
    } finally {
      if (own === undefined) delete process.env.PW_STATE_DIR;
      else process.env.PW_STATE_DIR = own;
    }
    await Promise.all(doomed.map((ns) => ns.delete()));

    // Then the live guest and a decoy, by the Node CLI: their entries are the newest.
    const live = await s.guest({ named: true });
    const decoy = await s.guest({ named: true });
    for (const [g, ip] of [[live, '10.9.200.2/16'], [decoy, '10.9.200.3/16']] as const) {
      const r = await node(s.hostNs, dir, ['br0', g.ns.name!, ip]);
      t.equal(r.code, 0, r.stderr);
    }
    const prefix = (id: string) => id.replace(':', '-');
    t.equal(readdirSync(journal).length, STALE + 2, 'the journal holds the stale entries and the two live ones');
    const port = (await s.host.link.list({ master: 'br0' })).find((l) => l.alias?.includes(`guest=${live.ns.id} `))!;
    t.ok(port, "the live guest's host end");
    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'nomaster']);

    const engine = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await engine.stop()));
    const br0 = await s.host.link.get('br0');
    await until('the live port back in br0', async () => ((await s.host.link.get(port.index)).master === br0.index ? true : undefined));
    await until('every stale entry cleaned', async () => (readdirSync(journal).length === 2 ? true : undefined));

    const lines = engine.log().split('\n');
    const repaired = lines.findIndex((l) => l.includes(`(link ${port.index})`) && /released from its bridge.*: repaired/.test(l));
    const cleaned = lines.map((l, i) => (/is gone and the host end with it: cleaned/.test(l) ? i : -1)).filter((i) => i >= 0);
    t.ok(repaired >= 0, 'the release was repaired and logged');
    t.equal(cleaned.length, STALE, 'each stale entry was cleaned and logged once');
    t.ok(repaired < cleaned[0]!, 'the live port was put back before any stale entry was cleaned');
    t.same(
      readdirSync(journal)
        .map((f) => f.slice(0, f.indexOf('-', f.indexOf('-') + 1)))
        .sort(),
      [prefix(live.ns.id), prefix(decoy.ns.id)].sort(),
      // (By entry, not by namespace id: the kernel reuses a dead namespace's inode number, so a live guest may have a stale one's id.)
      'the two live guests keep their entries, nothing else is left',
    );
    await followed(engine, decoy.ns.id);
    t.same(
      ((await engine.status()).tracked as Array<{ guestNetns: string }>).map((x) => x.guestNetns).sort(),
      [live.ns.id, decoy.ns.id].sort(),
      'only the two live guests are followed',
    );
    for (const g of [live, decoy]) t.equal((await node(s.hostNs, dir, ['detach', g.ns.name!])).code, 0, 'detached');
  }),
);
