// gc cannot hurt live work (issue 11): 20 rounds of gc beside attaches made
// through the library, 200 at once (and more waves while gc still runs), in
// the same process. gc lists the links before it scans, acts only on what it
// proved leaked, re-checked by identity under the lock attaches share: every
// attachment that succeeded is still there afterwards, and each round's
// genuinely leaked link is removed by that round.
import t from 'tap';
import { attach, Netns, type AttachResult } from '../../lib';
import { gc } from '../../lib/ops/forensics';
import { withScene } from '../helpers/scene';
import { gcRounds } from '../helpers/gc-race';

// 200 namespaces for every gc to scan: on a loaded 2-CPU machine the file
// needs more than the default 120 s.
t.setTimeout(600_000);

t.test('20 gc rounds beside 200 concurrent library attaches: 0 healthy attachments lost, every leaked link removed', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const guests: Netns[] = [];
    s.defer(async () => {
      for (const g of guests) await g.close();
    });
    const results: Array<{ ok: true; r: AttachResult } | { ok: false; e: Error }> = [];
    let gcDone = false;
    const attachWave = async (n: number) => {
      const wave = await Promise.all(Array.from({ length: n }, () => Netns.create()));
      guests.push(...wave);
      const base = guests.length - n;
      const settled = await Promise.all(
        wave.map((ns, i) => {
          const k = base + i;
          return attach({ host: s.host, hostIf: 'br0', guest: ns, address: `10.${20 + (k >> 8)}.${k & 255}.2/8`, arp: false }).then(
            (r) => ({ ok: true as const, r }),
            (e: Error) => ({ ok: false as const, e }),
          );
        }),
      );
      results.push(...settled);
    };
    const attaching = (async () => {
      await attachWave(200);
      // Keep attaching while gc still runs (up to 400 in all).
      while (!gcDone && guests.length < 400) await attachWave(50);
    })();
    // Why gc judged a link leaked, for every link that is not a planted leak (printed if any is removed).
    const judged: string[] = [];
    const rounds = await gcRounds(s, 20, async () => {
      const r = await gc({ host: s.host });
      for (const l of r.links) if (!l.name.startsWith('vleak')) judged.push(`${l.name}: ${l.reason} (${l.detail})`);
      return r.links.map((l) => l.name);
    });
    gcDone = true;
    await attaching;

    const failed = results.filter((x) => !x.ok).map((x) => (x as { e: Error }).e.message);
    t.same(failed, [], `all ${results.length} attaches succeeded`);
    const links = new Map((await s.host.link.list()).map((l) => [l.index, l]));
    const lost = results.filter((x) => x.ok && !(links.get(x.r.hostEnd!.index)?.name === x.r.hostEnd!.name && links.get(x.r.hostEnd!.index)?.master === x.r.hostIf.index));
    t.equal(lost.length, 0, `0 of ${results.length} healthy attachments lost (${lost.length} gone)`);
    for (const r of rounds) t.ok(r.removed && r.listed.includes(r.leak) && r.listed.every((n) => n.startsWith('vleak')), `round ${r.round}: removed its leaked link, and only leaked links (${r.listed.join(', ')})`);
    t.strictSame(judged.slice(0, 10), [], 'no healthy link judged leaked (the first reasons given)');
    t.comment(`${results.length} attaches beside ${rounds.length} gc rounds`);
  }),
);
