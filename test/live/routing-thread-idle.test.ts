// Between requests the routing thread (pw-net) looks for the caller's next
// one for a moment before it sleeps: after an answer the JS thread waited
// for, and after one posted to the event loop (native/executor.cc,
// kNextWaitNs and kAfterPostNs). What must hold: the looking ends. Once a
// caller stops asking, the thread is asleep in the kernel (a futex wait),
// however its last answer went, and it wakes for the next request.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { withScene } from '../helpers/scene';
import { ROUTING_THREAD_PROBES } from '../helpers/routing-thread';

// In a process of its own (the built library), where nothing of tap's runs
// on the event loop: the process's routing thread serves this script alone.
const dist = join(__dirname, '..', '..', 'dist', 'lib');
const script = `
  ${ROUTING_THREAD_PROBES}
  const { Handle, Netns } = require(${JSON.stringify(dist)});
  (async () => {
    const out = {};
    const h = await Handle.open();
    // 1. Last answer posted to the loop: a veth (a kind far slower than the JS thread waits for).
    for (let i = 0; i < 5; i++) await h.link.add({ kind: 'veth', name: 'ri' + i, peer: { name: 'rp' + i } });
    const tid = routingThread();  // started by the first request
    out.found = Boolean(tid);
    if (!tid) throw new Error('no thread named pw-net');
    out.afterPosted = await asleep(tid);
    // 2. Last answers waited for by the JS thread: quick lookups, one after another.
    for (let i = 0; i < 200; i++) await h.link.get('lo');
    out.afterWaited = await asleep(tid);
    // 3. Last job a namespace made on the routing thread itself.
    const ns = await Netns.create();
    out.afterNamespace = await asleep(tid);
    // And it wakes for what comes next: the veths are all there.
    out.links = (await h.link.list()).map((l) => l.name).filter((n) => /^r[ip]\\d$/.test(n)).sort();
    out.sameThread = routingThread() === tid;
    for (let i = 0; i < 5; i++) await h.link.del('ri' + i);
    await ns.close();
    await h.close();
    console.log(JSON.stringify(out));
  })().catch((e) => { console.error(e); process.exit(1); });`;

t.test('the routing thread sleeps once its caller stops asking, however the last answer went', (t) =>
  withScene(t, async ({ hostNs }) => {
    const r = JSON.parse(execFileSync('nsenter', [`--net=/proc/${process.pid}/fd/${hostNs.fd}`, process.execPath, '-e', script], { encoding: 'utf8' }));
    t.ok(r.found, 'the process has a routing thread (pw-net)');
    for (const k of ['afterPosted', 'afterWaited', 'afterNamespace']) {
      t.notOk(r[k].stuck, `${k}: asleep in a futex wait (after ${r[k].reads} reads of its state)`);
    }
    t.same(r.links, ['ri0', 'ri1', 'ri2', 'ri3', 'ri4', 'rp0', 'rp1', 'rp2', 'rp3', 'rp4'], 'the next request was served: every veth made is listed');
    t.ok(r.sameThread, 'by the same thread, woken');
  }),
);
