// Kernel events: typed link and address events, closing (break, twice), one
// namespace's watcher seeing only that namespace, and an event loop that is
// never blocked while hundreds of requests are in flight.
import t from 'tap';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { heldFds, withScene } from '../helpers/scene';
import { PipewrightError } from '../../lib';
import type { NetEvent } from '../../lib';

const isLink = (name: string, action: 'new' | 'del') => (ev: NetEvent) => ev.kind === 'link' && ev.action === action && ev.link.name === name;

t.test('link and address events: new, del, with the object decoded', (t) =>
  withScene(t, async (s) => {
    const w = s.host.watch(['link', 'addr']);
    s.defer(() => w.close()); // even if an assertion throws: a live watcher keeps the process up
    await w.ready;

    const created = s.host.link.add({ kind: 'bridge', name: 'br9' });
    const ev = await w.waitFor((ev) => ev.kind === 'link' && ev.action === 'new' && ev.link.name === 'br9', 2000, { keepOpen: true });
    const br9 = await created;
    t.match(ev, { kind: 'link', action: 'new', link: { name: 'br9', kind: 'bridge', index: br9.index } }, 'new link event');

    await s.host.link.set('br9', { up: true });
    await s.host.addr.add('br9', '10.9.0.1/24');
    const addr = await w.waitFor((ev) => ev.kind === 'addr' && ev.action === 'new' && ev.addr.address === '10.9.0.1', 2000, { keepOpen: true });
    t.match(addr, { kind: 'addr', action: 'new', addr: { index: br9.index, family: 4, address: '10.9.0.1', prefixLen: 24 } }, 'new address event');

    await s.host.addr.del('br9', '10.9.0.1/24');
    const gone = await w.waitFor((ev) => ev.kind === 'addr' && ev.action === 'del', 2000, { keepOpen: true });
    t.match(gone, { addr: { address: '10.9.0.1', index: br9.index } }, 'address del event');

    await s.host.link.del('br9');
    const del = await w.waitFor(isLink('br9', 'del'), 2000, { keepOpen: true });
    t.match(del, { kind: 'link', action: 'del', link: { index: br9.index } }, 'del link event');

    await w.close();
    await w.close();
    t.pass('closing twice is fine');
    t.same(await w.next(), { value: undefined, done: true }, 'a closed watcher is done');
  }),
);

t.test('for await and break closes the watcher', (t) =>
  withScene(t, async (s) => {
    const fdsBefore = heldFds().size;
    const w = s.host.watch(['link']);
    s.defer(() => w.close());
    await w.ready;
    t.equal(heldFds().size, fdsBefore + 1, 'the subscription holds one socket');
    const adding = s.host.link.add({ kind: 'veth', name: 'wa', peer: { name: 'wb' } });
    const seen: string[] = [];
    for await (const ev of w) {
      if (ev.kind === 'link') seen.push(ev.link.name);
      if (seen.includes('wa') && seen.includes('wb')) break;
    }
    await adding;
    t.same(seen.sort(), ['wa', 'wb'], 'both ends of the pair announced');
    t.same(await w.next(), { value: undefined, done: true }, 'break ended the iterator');
    t.equal(heldFds().size, fdsBefore, 'and closed its socket');
    await w.close();
  }),
);

t.test('a watcher sees only its own namespace; waitFor with keepOpen survives a timeout', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const wg = g.handle.watch(['link']);
    const wh = s.host.watch(['link']);
    s.defer(async () => { await wg.close(); await wh.close(); });
    await Promise.all([wg.ready, wh.ready]);

    await s.host.link.add({ kind: 'bridge', name: 'hostonly' });
    await wh.waitFor(isLink('hostonly', 'new'), 2000, { keepOpen: true });
    const none = await wg.waitFor(() => true, 300, { keepOpen: true }).catch((e: unknown) => e);
    t.ok(none instanceof PipewrightError, "no event in the guest's watcher");
    t.equal((none as PipewrightError).code, 'ERR_PW_TIMEOUT');

    await g.handle.link.add({ kind: 'bridge', name: 'inguest' });
    const ev = await wg.waitFor(isLink('inguest', 'new'), 2000, { keepOpen: true });
    t.match(ev, { link: { name: 'inguest', kind: 'bridge' } }, "the guest's own link is seen after a timed-out wait");
    const leak = await wh.waitFor(isLink('inguest', 'new'), 300, { keepOpen: true }).catch((e: unknown) => e);
    t.equal((leak as PipewrightError).code, 'ERR_PW_TIMEOUT', "and the host's watcher does not see it");
    await wg.close();
    await wh.close();
  }),
);

t.test('an aborted signal ends the watcher', (t) =>
  withScene(t, async (s) => {
    const ac = new AbortController();
    const w = s.host.watch(['link'], { signal: ac.signal });
    s.defer(() => w.close());
    await w.ready;
    const pending = w.next();
    ac.abort();
    t.same(await pending, { value: undefined, done: true }, 'a waiting next() ends');
  }),
);

t.test('the event loop is never blocked: 200 concurrent veth adds and deletes', (t) =>
  withScene(t, async ({ host }) => {
    const N = 200;
    const names = Array.from({ length: N }, (_, i) => `el${i}`);
    // Samples every 1 ms: an idle loop reads ~1 ms, so that is the floor.
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const started = Date.now();
    const added = await Promise.all(names.map((name) => host.link.add({ kind: 'veth', name, peer: { name: `${name}p` } })));
    const addMs = Date.now() - started;
    t.equal(new Set(added.map((l) => l.index)).size, N, 'every add resolved with its own link');
    t.equal((await host.link.list({ kind: 'veth' })).length, 2 * N);
    await Promise.all(names.map((name) => host.link.del(name)));
    const totalMs = Date.now() - started;
    h.disable();
    const p99 = h.percentile(99) / 1e6;
    const max = h.max / 1e6;
    t.comment(`event-loop delay during ${N} adds (${addMs} ms) + ${N} deletes (${totalMs - addMs} ms): p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms, mean ${(h.mean / 1e6).toFixed(1)} ms`);
    t.ok(p99 < 50, `p99 event-loop delay ${p99.toFixed(1)} ms < 50 ms`);
    t.same(await host.link.list({ kind: 'veth' }), [], 'every pair deleted');
  }),
);

/** Waits (event-driven: woken by each delivery) until `ok()`; a generous deadline only guards against a hang. */
async function whenDelivered(wakeUp: (wake: () => void) => void, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('no such event within 10 s');
    await new Promise<void>((resolve) => {
      wakeUp(resolve);
      setTimeout(resolve, 200).unref(); // re-check now and then; never decides the outcome
    });
  }
}

t.test('following some links: the addon drops the others’ link events before JS sees them', (t) =>
  withScene(t, async (s) => {
    const { addon } = await import('../../lib/core/native');
    const a = await s.host.link.add({ kind: 'bridge', name: 'fa' });
    const b = await s.host.link.add({ kind: 'bridge', name: 'fb' });
    const raw: Array<{ kind: string; object?: { index?: number } }> = [];
    let wake = () => {};
    const sub = await addon().subscribe(s.hostNs.fd, ['link', 'addr'], (evs) => {
      raw.push(...(evs as typeof raw));
      wake();
    });
    s.defer(async () => sub.close());
    const about = (i: number) => raw.filter((e) => e.kind === 'link' && e.object?.index === i).length;
    sub.followLinks!([a.index], []);
    await s.host.link.set(b.index, { up: true });
    await s.host.addr.add(b.index, '10.7.0.1/24');
    await s.host.link.set(a.index, { up: true });
    await whenDelivered((w) => (wake = w), () => about(a.index) > 0);
    t.equal(about(b.index), 0, "fb's link events (changed first) never reached JS");
    t.ok(raw.some((e) => e.kind === 'addr'), 'events of other kinds are not filtered');
    raw.length = 0;
    sub.followLinks!([b.index], [a.index]);
    await s.host.link.set(a.index, { up: false });
    await s.host.link.set(b.index, { up: false });
    await whenDelivered((w) => (wake = w), () => about(b.index) > 0);
    t.equal(about(a.index), 0, 'fa, no longer followed, is dropped; fb now passes');
    raw.length = 0;
    sub.followLinks!([], [], true);
    await s.host.link.set(a.index, { up: true });
    await s.host.link.set(b.index, { up: true });
    await whenDelivered((w) => (wake = w), () => about(b.index) > 0);
    t.ok(about(a.index) > 0, 'all: every link again');

    // The Watcher on top: the first link event it yields is the followed one's, though another changed first.
    const w = s.host.watch(['link']);
    s.defer(() => w.close());
    w.followLinks([a.index]);
    await w.ready;
    await s.host.link.set(b.index, { up: false });
    await s.host.link.set(a.index, { up: false });
    const first = await w.waitFor((ev) => ev.kind === 'link', 10_000, { keepOpen: true });
    t.match(first, { kind: 'link', link: { index: a.index } }, "the watcher's first event is fa's");
    w.followAllLinks();
    await s.host.link.set(b.index, { up: true });
    t.match(await w.waitFor((ev) => ev.kind === 'link', 10_000), { link: { index: b.index } }, 'following every link again');
  }),
);
