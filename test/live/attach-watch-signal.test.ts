// attach()'s watch can end on a signal (watchSignal) instead of after a
// fixed time: whoever runs the interfering agent says when it is done. The
// port is read back once more at the end, so what the agent did just before
// the signal is still seen and, with repair, put right. A window sized in
// milliseconds would decide the outcome by how busy the machine is.
import t from 'tap';
import { attach, type Handle } from '../../lib';
import { watchPort } from '../../lib/ops/attach/watch-port';
import { withScene } from '../helpers/scene';

/** Never reached when the signal works: the file's tap timeout comes first. */
const FOREVER_MS = 3_600_000;

/** Resolves once `name` exists in `h` and is a port of bridge index `master`. */
async function enslaved(h: Handle, name: string, master: number): Promise<number> {
  const w = h.watch(['link']);
  try {
    await w.ready;
    const now = await h.link.find(name);
    if (now?.master === master) return now.index;
    const ev = await w.waitFor((e) => e.kind === 'link' && e.action === 'new' && e.link.name === name && e.link.master === master, 30_000);
    return (ev as { link: { index: number } }).link.index;
  } finally {
    await w.close();
  }
}

t.test('watchSignal: the watch ends when the agent is done; its last release is reported and repaired', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const br = await s.host.link.get('br0');
    const agentDone = new AbortController();
    const attaching = attach({ host: s.host, hostIf: 'br0', guest: g.ns, hostEnd: 'vw0', address: '10.0.0.3/24', watchMs: FOREVER_MS, watchSignal: agentDone.signal, repair: true });
    // The agent: releases the port once it sees it enslaved, then is done.
    const index = await enslaved(s.host, 'vw0', br.index);
    await s.host.link.set(index, { master: null });
    agentDone.abort();
    const r = await attaching;
    t.equal(r.status, 'attached');
    t.same(
      (r.incidents ?? []).map((i) => [i.what.replace(/^before verification: /, ''), i.repaired]),
      [['released from its bridge (master none)', true]],
      'the release is reported once, as repaired (at verification, while watching, or at the last read-back)',
    );
    const port = await s.host.link.get(index);
    t.same([port.master, port.up], [br.index, true], 'and the port is enslaved and up again');
  }),
);

t.test('watchSignal already aborted: no watch beyond one read-back', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const r = await attach({ host: s.host, hostIf: 'br0', guest: g.ns, address: '10.0.0.3/24', watchMs: FOREVER_MS, watchSignal: AbortSignal.abort(), repair: true });
    t.equal(r.status, 'attached', 'returns at once, not after watchMs');
    t.same(r.incidents ?? [], [], 'nothing undid the port');
  }),
);

t.test('watchPort: a release made just before the abort, in the same tick, is seen by the last read-back', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    const br = await s.host.link.get('br0');
    const port = await s.host.link.add({ kind: 'veth', name: 'vw1', up: true, master: br.index, peer: { name: 'eth0', netns: g.ns, up: true } });
    const done = new AbortController();
    const watching = watchPort(s.host, { index: port.index, name: port.name }, br.index, FOREVER_MS, true, done.signal);
    // Once it has repaired a first change, it is subscribed and in its loop.
    await s.host.link.set(port.index, { up: false });
    const w = s.host.watch(['link']);
    await w.ready;
    if (!(await s.host.link.get(port.index)).up) await w.waitFor((e) => e.kind === 'link' && e.link.index === port.index && e.link.up, 30_000);
    await w.close();
    await s.host.link.set(port.index, { master: null });
    done.abort();
    const { incidents } = await watching;
    t.same(
      incidents.map((i) => [i.what, i.repaired]),
      [['set down', true], ['released from its bridge (master none)', true]],
      'both changes reported and repaired',
    );
    const after = await s.host.link.get(port.index);
    t.same([after.master, after.up], [br.index, true], 'the port is enslaved and up');
  }),
);

t.test('watchSignal must be an AbortSignal', async (t) => {
  await t.rejects(attach({ hostIf: 'br0', guest: 'g', watchMs: 10, watchSignal: 'soon' as unknown as AbortSignal }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'watchSignal', value: 'soon' });
});
