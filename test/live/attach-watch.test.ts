// --watch tracks the host end by index: something that renames it during the
// watch is reported, the result names it as it is at the end, and --repair
// puts the name back (issue 12, item 4).
import t from 'tap';
import { attach, PIPEWRIGHT_GROUP, type Handle } from '../../lib';
import { withScene } from '../helpers/scene';

/**
 * An agent that renames the host end once the attach is past verification:
 * it waits for the guest's gratuitous ARP (announce.ts: the guest's kernel
 * resolves its own address, a neighbour entry made and removed), which comes
 * after the read-back, then renames the pipewright port on the host.
 * Resolves with the port's index.
 */
async function renamer(host: Handle, guest: Handle, address: string, to: string): Promise<{ renamed: Promise<number> }> {
  const w = guest.watch(['neigh']);
  await w.ready; // subscribed before the attach starts: its announcement cannot be missed
  const renamed = (async () => {
    await w.waitFor((e) => e.kind === 'neigh' && e.neigh.address === address, 60_000);
    const port = (await host.link.list()).find((l) => l.group === PIPEWRIGHT_GROUP);
    if (!port) throw new Error('no pipewright port on the host');
    await host.link.set(port.index, { name: to });
    return port.index;
  })();
  return { renamed };
}

// The window only has to outlast the agent's rename, which it issues the
// moment the announcement shows, right before the watch begins.
const WATCH_MS = 3000;

t.test('a rename during the watch: reported, and the result names the link as it is now', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const agent = await renamer(s.host, g.handle, '10.0.0.2', 'moved0');
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.2/24', watchMs: WATCH_MS });
    const index = await agent.renamed;
    t.equal(r.hostEnd!.index, index, 'the same link, tracked by index');
    t.equal(r.hostEnd!.name, 'moved0', 'named as it is at the end of the watch');
    t.equal((await s.host.link.get(index)).name, 'moved0');
    t.ok(r.incidents?.some((i) => /renamed to moved0/.test(i.what) && !i.repaired), `the rename is an incident: ${JSON.stringify(r.incidents)}`);
  }),
);

t.test('with repair, the name is put back', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const agent = await renamer(s.host, g.handle, '10.0.0.2', 'moved1');
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.2/24', hostEnd: 'vmine', watchMs: WATCH_MS, repair: true });
    const index = await agent.renamed;
    t.equal(r.hostEnd!.name, 'vmine', 'the result names it as asked');
    t.equal((await s.host.link.get(index)).name, 'vmine', 'and so does the kernel: the rename was undone');
    t.ok(r.incidents?.some((i) => /renamed to moved1/.test(i.what) && i.repaired), `the rename is an incident, repaired: ${JSON.stringify(r.incidents)}`);
    const he = await s.host.link.get(index);
    t.equal(he.up, true, 'still up');
    t.equal(he.master, (await s.host.link.get('br0')).index, 'still a port of the bridge');
  }),
);
