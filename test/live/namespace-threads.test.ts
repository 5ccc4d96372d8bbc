// Jobs that create or enter a namespace run on a namespace thread from start
// to end; the routing thread is one too, and takes such a job itself when it
// has nothing queued and nothing running (native/executor.h, Lane::kNamespace).
// What must hold: every thread is back in its own namespace afterwards, a
// routing request that follows a creation on the same thread lands in the
// namespace it was meant for, concurrent creations still spread over the
// namespace threads, and a routing thread that cannot get home retires and
// is replaced without a request ever running in the wrong namespace.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { withScene, threadNamespaces } from '../helpers/scene';
import { Handle, Netns } from '../../lib';
import { addon } from '../../lib/core/native';

function jobCounts(): { routing: number; own: number } {
  const s = addon().stats();
  return { routing: s.namespaceJobsOnRoutingThread, own: s.namespaceJobsOnNamespaceThreads };
}

t.test('creations awaited one after another run on the routing thread, and its requests stay where they belong', (t) =>
  withScene(t, async ({ host }) => {
    await host.link.add({ kind: 'bridge', name: 'nsjbr0' });
    const before = jobCounts();
    const made: Netns[] = [];
    for (let i = 0; i < 20; i++) {
      const ns = await Netns.create();
      made.push(ns);
      // Straight after the creation, on the same thread: the host's socket,
      // so the host's namespace, whatever namespace that thread was just in.
      await host.link.add({ kind: 'veth', name: `nsj${i}`, master: 'nsjbr0', peer: { name: 'eth0', netns: ns } });
    }
    const after = jobCounts();
    t.equal(after.routing - before.routing, 20, 'all 20 creations ran on the routing thread (idle each time)');
    t.equal(after.own - before.own, 0, 'none waited for a namespace thread');
    t.equal(new Set(made.map((ns) => ns.id)).size, 20, '20 distinct namespaces');
    const hostLinks = await host.link.list();
    t.equal(hostLinks.filter((l) => /^nsj\d+$/.test(l.name)).length, 20, 'every host end is in the host namespace');
    for (const [i, ns] of made.entries()) {
      const g = await Handle.open(ns);
      const names = (await g.link.list()).map((l) => l.name).sort();
      t.same(names, ['eth0', 'lo'], `guest ${i} holds only its own lo and eth0`);
      await g.close();
    }
    // Closing the last fd of a guest takes its veth pair with it.
    for (const ns of made) await ns.close();
  }),
);

t.test('concurrent creations still overlap on namespace threads', (t) =>
  withScene(t, async () => {
    const before = jobCounts();
    const made = await Promise.all(Array.from({ length: 8 }, () => Netns.create()));
    const after = jobCounts();
    t.equal(after.routing - before.routing + (after.own - before.own), 8, 'each creation counted once');
    t.ok(after.own - before.own >= 1, `${after.own - before.own} of 8 went to namespace threads`);
    t.equal(new Set(made.map((ns) => ns.id)).size, 8, '8 distinct namespaces');
    for (const ns of made) await ns.close();
  }),
);

t.test('Handle.open of an existing namespace runs on the routing thread when it is idle', (t) =>
  withScene(t, async ({ host }) => {
    const ns = await Netns.create();
    // The spare socket that came with the creation goes to the first Handle.
    const first = await Handle.open(ns);
    await host.link.get('lo');
    const before = jobCounts();
    const second = await Handle.open(ns);
    const after = jobCounts();
    t.equal(after.routing - before.routing, 1, 'the second Handle’s socket was opened by the routing thread');
    await second.link.add({ kind: 'bridge', name: 'inside0' });
    t.ok(await first.link.find('inside0'), 'that socket is inside the namespace');
    t.notOk(await host.link.find('inside0'), 'and not in the host’s');
    await first.close();
    await second.close();
    await ns.close();
  }),
);

t.test('a routing thread that cannot get home retires; the next request runs at home on a new one', (t) => {
  // In a process of its own with few fds: once they are all taken, the
  // thread that made a namespace cannot open its way home (EMFILE). The
  // process's namespace holds a marker link; a request answered from the
  // new namespace would not see it.
  const dist = join(__dirname, '..', '..', 'dist', 'lib');
  const script = `
    const fs = require('node:fs');
    const { Handle, Netns } = require(${JSON.stringify(dist)});
    const { addon } = require(${JSON.stringify(join(dist, 'core', 'native'))});
    const nsOf = () => new Set(fs.readdirSync('/proc/self/task').map((t) => { try { return fs.readlinkSync('/proc/self/task/' + t + '/ns/net'); } catch { return null; } }).filter(Boolean));
    (async () => {
      const h = await Handle.open();
      await h.link.add({ kind: 'bridge', name: 'homemark0' });
      const home = [...nsOf()];
      const before = addon().stats().namespaceJobsOnRoutingThread;
      const fillers = [];
      for (;;) { try { fillers.push(fs.openSync('/dev/null', 'r')); } catch { break; } }
      let failure = null;
      try { await Netns.create(); } catch (e) { failure = { code: e.code, syscall: e.syscall, message: e.message }; }
      const onRouting = addon().stats().namespaceJobsOnRoutingThread - before;
      const filled = fillers.length;
      for (const fd of fillers.splice(0)) fs.closeSync(fd);
      const seen = (await h.link.list()).map((l) => l.name);
      const again = await Netns.create();
      const g = await Handle.open(again);
      const inside = (await g.link.list()).map((l) => l.name);
      await g.close();
      await again.close();
      const seenAfter = (await h.link.list()).map((l) => l.name);
      // Again, with a request queued behind the creation.
      const before2 = addon().stats().namespaceJobsOnRoutingThread;
      for (;;) { try { fillers.push(fs.openSync('/dev/null', 'r')); } catch { break; } }
      const [made2, listed2] = await Promise.allSettled([Netns.create(), h.link.list()]);
      const onRouting2 = addon().stats().namespaceJobsOnRoutingThread - before2;
      for (const fd of fillers.splice(0)) fs.closeSync(fd);
      const queued = { create: made2.status, list: listed2.status, why: listed2.reason && listed2.reason.message, names: listed2.value && listed2.value.map((l) => l.name) };
      const seenLast = (await h.link.list()).map((l) => l.name);
      await h.link.del('homemark0');
      await h.close();
      console.log(JSON.stringify({ home, after: [...nsOf()], failure, onRouting, seen, inside, seenAfter, filled, onRouting2, queued, seenLast }));
    })().catch((e) => { console.log(JSON.stringify({ crashed: String(e && e.stack || e) })); });`;
  const out = execFileSync('unshare', ['--net', 'prlimit', '--nofile=200:200', process.execPath, '-e', script], { encoding: 'utf8' });
  const r = JSON.parse(out);
  t.notOk(r.crashed, r.crashed ?? 'the child ran to the end');
  t.ok(r.filled > 0, `the child took its last ${r.filled} fds`);
  t.equal(r.onRouting, 1, 'the creation ran on the routing thread');
  t.ok(r.failure, 'the creation failed');
  t.match(r.failure?.message ?? '', /Too many open files|EMFILE/, `and said why: ${r.failure?.message}`);
  t.ok(r.seen.includes('homemark0'), 'the next request ran in the process’s namespace (it sees the marker)');
  t.same(r.inside.sort(), ['lo'], 'a namespace made afterwards is a fresh one');
  t.ok(r.seenAfter.includes('homemark0'), 'and requests after it still run at home');
  t.equal(r.onRouting2, 1, 'with a request queued behind it, the creation ran on the routing thread again');
  t.equal(r.queued.create, 'rejected', 'the creation failed');
  // Which way the queued request goes depends on whether an fd came free
  // meanwhile (the process closes some on threads of its own): with none,
  // the thread that would take over cannot get home either and refuses it;
  // with one, the stranded thread's undo frees another, the new thread gets
  // home and runs it there. Never anywhere else.
  if (r.queued.list === 'rejected') {
    t.match(r.queued.why ?? '', /cannot return a thread to the process's network namespace/, `the queued request was refused: ${r.queued.why}`);
  } else {
    t.ok(r.queued.names.includes('homemark0'), 'the queued request ran at home, on a thread that got there');
  }
  t.ok(r.seenLast.includes('homemark0'), 'with fds free again, a new thread runs requests at home');
  t.same(r.after, r.home, 'every thread left is in the process’s namespace (the stranded one exited)');
  t.end();
});

t.test('the threads of this process are all at home after all of the above', async (t) => {
  const mine = threadNamespaces();
  t.equal(mine.size, 1, 'one namespace for every thread');
});
