// The engine with a long `attach --watch` at work: a client that goes away
// ends its watch in the engine, and the journal reads a command holds back
// are held for a moment only (split from engine.test.ts).
import t from 'tap';
import { withScene, inNetns } from '../helpers/scene';
import { longWatch, sceneEngine, followed, fast, node, until } from '../helpers/engine';

t.test('a client that goes away ends its watch in the engine: a long --watch does not hold the others back', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const g = await s.guest({ named: true });
    // Ten minutes of watching: only the client's departure can end it within the test.
    const watch = await longWatch(s, engine, stateDir, g.ns.name!, '10.9.5.2/24');
    const eth1 = await until('the attach done', async () => (await g.handle.link.find('eth1')) ?? undefined);
    t.ok(eth1, 'attached; now watching');
    await watch.end();
    await until('the watch ended', async () => ((await engine.status()).served === 1 ? true : undefined));
    const next = await fast(s.hostNs, stateDir, ['--version']);
    t.equal(next.code, 0);
    t.equal((await engine.status()).served, 2, 'the next command ran in the engine');
    const hostEnd = await s.host.link.get(eth1!.link!);
    t.equal(hostEnd.master, (await s.host.link.get('br0')).index, 'the attachment stays');
    t.equal((await node(s.hostNs, stateDir, ['detach', g.ns.name!])).code, 0);
  }),
);

t.test('a command at work in the engine holds back its journal reads for a moment only: another process\'s attach is followed (and repaired) while a long --watch runs', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const watched = await s.guest({ named: true });
    const other = await s.guest({ named: true });
    // Ten minutes of watching in the engine: the journal changes it holds back must not wait for its end.
    const watch = await longWatch(s, engine, stateDir, watched.ns.name!, '10.9.6.2/24');
    const r = await node(s.hostNs, stateDir, ['br0', other.ns.name!, '10.9.6.3/24']);
    t.equal(r.code, 0, r.stderr);
    const port = await followed(engine, other.ns.id);
    t.ok((await engine.status()).busy, 'followed while the watch still runs');
    const br0 = await s.host.link.get('br0');
    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'nomaster']);
    await until('the port back in br0', async () => ((await s.host.link.get(port.index)).master === br0.index ? true : undefined));
    await watch.end();
    await until('the watch ended', async () => ((await engine.status()).busy ? undefined : true));
    for (const g of [watched, other]) t.equal((await node(s.hostNs, stateDir, ['detach', g.ns.name!])).code, 0);
  }),
);
