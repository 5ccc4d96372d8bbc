// gc cannot hurt live work, across processes (issue 11: one `pipewright gc &`
// beside 20 concurrent `pipewright br0 ... gK ...` deleted all 20): 20
// rounds of `pipewright gc` beside 40 concurrent `pipewright br0 ...` (and
// more waves of 40 while gc still runs), each round with one genuinely
// leaked link. Every attach exits 0 and is still there afterwards; each
// round removes its leaked link.
import t from 'tap';
import { withScene, type Guest } from '../helpers/scene';
import { cli } from '../helpers/cli';
import { gcRounds } from '../helpers/gc-race';

// 40 processes at a time beside 20 more: on a loaded 2-CPU machine the file
// needs more than the default 120 s.
t.setTimeout(600_000);

t.test('20 `pipewright gc` rounds beside 40 concurrent CLI attaches: 0 healthy attachments lost, every leaked link removed', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const attached: Array<{ guest: Guest; code: number | null; stderr: string; hostEnd?: { name: string; index: number } }> = [];
    let gcDone = false;
    const wave = async () => {
      const guests = await Promise.all(Array.from({ length: 40 }, () => s.guest({ named: true })));
      const base = attached.length;
      const runs = await Promise.all(guests.map((g, i) => cli(s.hostNs, 'br0', '-i', 'eth1', g.ns.name!, `10.30.${base + i}.2/16`, '--no-arp', '--json')));
      runs.forEach((r, i) => {
        const hostEnd = r.code === 0 ? (JSON.parse(r.stdout) as { hostEnd: { name: string; index: number } }).hostEnd : undefined;
        attached.push({ guest: guests[i]!, code: r.code, stderr: r.stderr, ...(hostEnd ? { hostEnd } : {}) });
      });
    };
    const attaching = (async () => {
      await wave();
      while (!gcDone && attached.length < 120) await wave();
    })();
    const rounds = await gcRounds(s, 20, async () => {
      const r = await cli(s.hostNs, 'gc', '--json');
      if (r.code !== 0) throw new Error(`gc exited ${r.code}: ${r.stderr}`);
      return (JSON.parse(r.stdout) as { links: Array<{ name: string }> }).links.map((l) => l.name);
    });
    gcDone = true;
    await attaching;

    t.same(attached.filter((a) => a.code !== 0).map((a) => a.stderr), [], `all ${attached.length} attaches exited 0`);
    const links = new Map((await s.host.link.list()).map((l) => [l.index, l]));
    const br0 = await s.host.link.get('br0');
    const lost = attached.filter((a) => a.hostEnd && !(links.get(a.hostEnd.index)?.name === a.hostEnd.name && links.get(a.hostEnd.index)?.master === br0.index));
    t.equal(lost.length, 0, `0 of ${attached.length} healthy attachments lost`);
    const guestsLost = [];
    for (const a of attached) if (!(await a.guest.handle.link.find('eth1'))) guestsLost.push(a.guest.ns.name);
    t.same(guestsLost, [], 'every guest still has its eth1');
    for (const r of rounds) t.ok(r.removed && r.listed.includes(r.leak) && r.listed.every((n) => n.startsWith('vleak')), `round ${r.round}: removed its leaked link, and only leaked links (${r.listed.join(', ')})`);
    t.comment(`${attached.length} CLI attaches beside ${rounds.length} gc rounds`);
  }),
);
