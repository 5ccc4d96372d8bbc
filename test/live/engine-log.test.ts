// What the resident engine says, and that saying it never stops it: a
// stderr nobody reads (a supervisor that stopped draining it) leaves the
// engine serving, with what did not fit counted once the reader is back;
// a detach, whatever runs it, is not reported, while a host end deleted by
// hand (its journal entry left behind) is.
import t from 'tap';
import { withScene, inNetns } from '../helpers/scene';
import { sceneEngine, followed, node, until } from '../helpers/engine';
import { join } from 'node:path';

/** The built library, for a client process of its own in the engine's namespace. */
const DIST = join(__dirname, '..', '..', 'dist', 'lib');

interface Incident {
  index: number;
  hostEnd: string;
  what: string;
  action: string;
}

t.test('a stderr nobody reads does not stop the engine: it serves, and says later what it dropped', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    // The reader stops: Node stops reading the pipe once its own buffer is full, and the pipe fills behind it.
    engine.child.stderr!.pause();
    // Each refusal is a log line of ~2 KB (it names the working directory,
    // which cannot be entered): 300 of them, far past the pipe and the
    // engine's bound. Sent from the engine's namespace (a peer elsewhere is
    // refused with a short line), by one process.
    const cwd = `/nonexistent/${'d'.repeat(2000)}`;
    const send = `const { Engine } = require(${JSON.stringify(DIST)});
      (async () => {
        const c = await Engine.connect({ socket: process.argv[1] });
        let refused = 0;
        for (let i = 0; i < 300; i++) await c.run(['version'], { cwd: process.argv[2] }).catch((e) => { if (e.name === 'EngineRefusal' && /cannot be entered/.test(e.message)) refused++; });
        console.log(refused);
      })();`;
    const out = await inNetns(s.hostNs, 'env', [`PW_STATE_DIR=${stateDir}`, process.execPath, '-e', send, engine.socket, cwd], 120_000);
    t.equal(out.stdout.trim(), '300', 'each request refused (its working directory cannot be entered)');
    const st = await engine.status();
    t.ok(st.refused >= 300, `the engine still answers, and counted ${st.refused} refusals`);
    // The reader is back.
    engine.child.stderr!.resume();
    const said = await engine.waitLog(/log line\(s\) dropped/);
    const dropped = Number(/(\d+) log line/.exec(said)![1]);
    const kept = engine.log().split('\n').filter((l) => l.includes('refused a request')).length;
    t.ok(dropped > 0, `some lines were dropped (${dropped})`);
    t.equal(kept + dropped, 300, `every refusal is either in the log (${kept}) or counted as dropped`);
    t.ok(kept > 0, 'what fit was kept');
    t.equal((await engine.status()).logDropped, dropped, 'engine status says how many lines were dropped');
  }),
);

t.test('a detach is not reported; a host end deleted by hand, its entry left behind, is', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const detached = await s.guest({ named: true });
    const byHand = await s.guest({ named: true });
    for (const [g, ip] of [[detached, '10.9.7.2/24'], [byHand, '10.9.7.3/24']] as const) {
      const r = await node(s.hostNs, stateDir, ['br0', g.ns.name!, ip]);
      t.equal(r.code, 0, r.stderr);
    }
    const a = await followed(engine, detached.ns.id);
    const b = await followed(engine, byHand.ns.id);
    const tracked = async () => ((await engine.status()).tracked as Array<{ index: number }>).map((x) => x.index);

    // A detach by another process (the Node CLI): its host end goes, then its entry.
    const d = await node(s.hostNs, stateDir, ['detach', detached.ns.name!]);
    t.equal(d.code, 0, d.stderr);
    await until('the detached port no longer followed', async () => (!(await tracked()).includes(a.index) ? true : undefined));
    // Then a host end deleted by hand: its entry stays.
    await inNetns(s.hostNs, 'ip', ['link', 'del', b.name]);
    const reported = await until('the deletion by hand reported', async () => ((await engine.status()).incidents as Incident[]).find((i) => i.index === b.index));
    t.equal(reported.action, 'reported');
    t.match(reported.what, /deleted while its guest lives, its journal entry left behind/);
    t.match(engine.log(), new RegExp(`${b.name} \\(link ${b.index}\\): deleted while its guest lives.*: reported`));
    // The detach's look came first (its host end went first): had it been reported, it would be there by now.
    const incidents = (await engine.status()).incidents as Incident[];
    t.same(incidents.filter((i) => i.index === a.index), [], 'nothing about the detached port');
    t.notMatch(engine.log(), new RegExp(`${a.name} \\(link ${a.index}\\)`), 'nor a line in the log');
    // The entry left behind goes with the guest's detach.
    const cleanup = await node(s.hostNs, stateDir, ['detach', byHand.ns.name!]);
    t.equal(cleanup.code, 0, cleanup.stderr);
  }),
);
