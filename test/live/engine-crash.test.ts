// An engine killed (SIGKILL: no chance to tidy) in the middle of an attach
// it runs for a client. The client cannot know how far the attach got and
// says so; the journal knows: the attach's entry stays 'in-progress' with a
// dead writer. The next engine in that namespace finds its predecessor's
// record, rolls back exactly the attaches that process left half-way, and
// touches nothing else: another tool's attachment and its entry survive.
import t from 'tap';
import { readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { withScene, type Guest, type Scene } from '../helpers/scene';
import { startEngine, fast, node, privateStateDir, until } from '../helpers/engine';

/** Every journal entry, by file name, with its bytes. */
function journal(dir: string): Map<string, string> {
  const j = join(dir, 'attachments');
  return new Map(readdirSync(j).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => [f, readFileSync(join(j, f), 'utf8')]));
}

async function vethsOf(s: Scene): Promise<string[]> {
  return (await s.host.link.list()).filter((l) => l.kind === 'veth').map((l) => l.name);
}

t.test('an engine killed in the middle of an attach: the client says the outcome is unknown, and the next engine rolls back that attach and nothing else', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => void remove());
    // A decoy: an attachment the Node CLI made (no engine), complete, followed by every engine after.
    const decoy = await s.guest({ named: true });
    const d = await node(s.hostNs, dir, ['br0', decoy.ns.name!, '10.9.5.200/24']);
    t.equal(d.code, 0, d.stderr);
    const decoyEntries = journal(dir);
    t.equal(decoyEntries.size, 1, 'the decoy has its entry');

    // The engine is killed as soon as the attach's first entry ('in-progress') lands in the journal. The attach
    // is fast, so a round can finish before the kill arrives; such a round is undone and another is tried.
    let hit: { guest: string; g: Guest; stderr: string; rounds: number } | null = null;
    for (let round = 1; round <= 12 && !hit; round++) {
      const g = await s.guest({ named: true });
      const engine = await startEngine(s.hostNs, dir);
      const known = new Set(journal(dir).keys());
      const w = watch(join(dir, 'attachments'), (_ev, f) => {
        if (f && f.endsWith('.json') && !f.startsWith('.') && !known.has(f)) engine.child.kill('SIGKILL');
      });
      const r = await fast(s.hostNs, dir, ['br0', g.ns.name!, `10.9.5.${round + 1}/24`]);
      w.close();
      engine.child.kill('SIGKILL'); // if the watch never fired (the attach failed before its entry)
      await engine.exited;
      if (r.code === 0) {
        // Finished before the kill arrived (or the client ran it itself): undone, and tried again.
        const u = await node(s.hostNs, dir, ['detach', g.ns.name!]);
        t.equal(u.code, 0, `round ${round}: the attach finished first; detached (${u.stderr.trim()})`);
        continue;
      }
      hit = { guest: g.ns.name!, g, stderr: r.stderr, rounds: round };
      t.equal(r.code, 1, 'the client exits 1');
    }
    if (!hit) {
      t.fail('no round caught the engine in the middle of an attach');
      return;
    }
    t.comment(`caught in round ${hit.rounds}`);
    t.match(hit.stderr, /the engine stopped while running this command, so whether it did is unknown: an attach it left half-way is rolled back when an engine starts again/, 'the client says what happened and what comes next');

    const left = [...journal(dir)].filter(([f]) => !decoyEntries.has(f));
    t.equal(left.length, 1, 'the killed attach left its entry');
    const entry = JSON.parse(left[0]![1]) as { state: string; guestIf: string; hostEnd?: string };
    t.equal(entry.state, 'in-progress', "its entry still says 'in-progress' (its writer is dead: a crashed attach)");

    const next = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await next.stop()));
    // It rolls back before it serves or follows anything, so by 'ready' it has said so.
    t.match(next.log(), /rolled back the attach of eth1 in .* the previous engine \(pid \d+\) was killed in the middle of/, 'the next engine says what it rolled back');
    t.notOk(journal(dir).has(left[0]![0]), 'the crashed entry is gone');
    t.equal((await vethsOf(s)).length, 1, "no link of that attach is left on the host: the decoy's port is the only veth");
    t.notOk((await hit.g.handle.link.list()).some((l) => l.name === 'eth1'), 'nor in the guest');
    t.same(journal(dir), decoyEntries, 'the decoy entry is byte for byte as it was');
    const br0 = await s.host.link.get('br0');
    const decoyPort = (await s.host.link.list()).find((l) => l.master === br0.index);
    t.ok(decoyPort?.up, 'the decoy port is still on br0, up');
    await until('the decoy followed by the new engine', async () => (((await next.status()).tracked as unknown[]).length === 1 ? true : undefined));

    // The same attach again, through the new engine: made afresh.
    const again = await fast(s.hostNs, dir, ['br0', hit.guest, '10.9.5.150/24']);
    t.equal(again.code, 0, again.stderr);
    t.equal((await next.status()).served, 1, 'run by the new engine');
    for (const g of [hit.guest, decoy.ns.name!]) t.equal((await node(s.hostNs, dir, ['detach', g])).code, 0, `detach ${g}`);
  }),
);

t.test('an engine that stops cleanly leaves no record behind; one killed while idle leaves nothing to roll back', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => void remove());
    const first = await startEngine(s.hostNs, dir);
    t.ok(readdirSync(join(dir, 'engine')).some((f) => /^engine-net-.*\.json$/.test(f)), 'a running engine has its record');
    t.equal(await first.stop(), 0);
    t.notOk(readdirSync(join(dir, 'engine')).some((f) => /^engine-net-.*\.json$/.test(f)), 'a clean stop removes it');
    const second = await startEngine(s.hostNs, dir);
    second.child.kill('SIGKILL');
    await second.exited;
    const third = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await third.stop()));
    t.notMatch(third.log(), /rolled back|could not roll back/, 'an idle predecessor left nothing to roll back');
  }),
);
