// The workload through the library, in process, as an application would
// write it. Run by the driver (already inside the sandbox):
//
//   node bench/ways/library.js --n N --mode seq|batch|concurrent --teardown group|each
//
// seq:        the typical calls, one guest after the other, each awaited.
// batch:      the same, with the guest's three changes in one runBatch hop.
// concurrent: every guest's chain started at once (at most 200 in flight).
// Teardown "group": one link.delGroup, every handle and name closed and
// removed meanwhile; "each": one link.del per host end, then the names. Both wait for the kernel's deletion event of every
// host end (subscribed before deleting) and for every name to be unmounted.
'use strict';

const { performance } = require('node:perf_hooks');
const { Handle, Netns } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');
const W = require('../lib/workload');
const { report, waitForGo, args } = require('../lib/child');

// Run by bench/run.js inside its sandbox; run directly, it makes its own.
ensureSandbox();

const MAX_IN_FLIGHT = 200;

async function guestSeq(host, k, phases) {
  const t0 = performance.now();
  const ns = await Netns.create({ name: W.nsName(k) });
  const t1 = performance.now();
  await host.link.add({ kind: 'veth', name: W.hostEnd(k), up: true, master: W.BRIDGE, group: W.GROUP, peer: { name: 'eth0', netns: ns } });
  const t2 = performance.now();
  const g = await Handle.open(ns);
  await g.addr.add('eth0', W.cidr(k));
  await g.link.set('eth0', { up: true });
  await g.route.add({ dst: 'default', gateway: W.GATEWAY });
  const t3 = performance.now();
  if (phases) {
    phases.netnsMs += t1 - t0;
    phases.vethMs += t2 - t1;
    phases.guestMs += t3 - t2;
  }
  return { ns, g };
}

async function guestBatch(host, k) {
  const ns = await Netns.create({ name: W.nsName(k) });
  await host.link.add({ kind: 'veth', name: W.hostEnd(k), up: true, master: W.BRIDGE, group: W.GROUP, peer: { name: 'eth0', netns: ns } });
  const g = await Handle.open(ns);
  // Raw operations: what the typed calls above send, in one hop. The order
  // matters: IPv4 accepts a route via a gateway only once the link is up.
  await g.runBatch([
    { op: 'addr.add', args: { index: 'eth0', address: W.address(k), prefixLen: W.PREFIX } },
    { op: 'link.set', args: { index: 'eth0', up: true } },
    { op: 'route.add', args: { family: 4, dst: 'default', dstLen: 0, gateway: W.GATEWAY } },
  ]);
  return { ns, g };
}

/** Runs fn(k) for k = 1..n with at most `limit` in flight; results in order. */
async function pool(n, limit, fn) {
  const out = new Array(n);
  let next = 1;
  const lane = async () => {
    while (next <= n) {
      const k = next++;
      out[k - 1] = await fn(k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}

async function create(host, n, mode) {
  const phases = { netnsMs: 0, vethMs: 0, guestMs: 0 };
  const t0 = performance.now();
  let guests;
  if (mode === 'concurrent') guests = await pool(n, MAX_IN_FLIGHT, (k) => guestSeq(host, k, null));
  else {
    guests = [];
    for (const k of W.range(n)) guests.push(mode === 'batch' ? await guestBatch(host, k) : await guestSeq(host, k, phases));
  }
  const createMs = performance.now() - t0;
  return { guests, createMs, phases: mode === 'seq' ? phases : undefined };
}

/** Resolves once every name in `pending` has been announced deleted. */
async function waitDeleted(host, watcher, pending) {
  while (pending.size > 0) {
    const { value: ev, done } = await watcher.next();
    if (done) throw new Error('the link watcher ended before every host end was deleted');
    if (ev.kind === 'link' && ev.action === 'del') pending.delete(ev.link.name);
    else if (ev.kind === 'overrun') {
      // Events were lost: ask about each name still awaited instead.
      for (const name of [...pending]) if (!(await host.link.find(name))) pending.delete(name);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 1));
    }
  }
}

async function teardown(host, n, guests, how) {
  const t0 = performance.now();
  const watcher = host.watch(['link']);
  await watcher.ready;
  const pending = new Set(W.range(n).map(W.hostEnd));
  const closeAndRemove = () => Promise.all(guests.map(async ({ ns, g }, i) => {
    await g.close();
    await ns.close();
    await Netns.remove(W.nsName(i + 1));
  }));
  if (how === 'group') {
    // One request deletes every host end; closing fds and removing names wait
    // on nothing in the kernel, so they run meanwhile. A namespace released
    // that way takes its veth pair with it, which could leave the group empty
    // by the time the delete runs (ENODEV): then the work is done all the same.
    const deleting = host.link.delGroup(W.GROUP).catch((e) => {
      if (e.errno !== 19 && e.code !== 'ENODEV') throw e;
    });
    await Promise.all([deleting, closeAndRemove()]);
  } else {
    // One at a time, as a script deleting links in a loop does; names after,
    // so no namespace's release deletes a pair before its turn.
    for (const k of W.range(n)) await host.link.del(W.hostEnd(k));
    await closeAndRemove();
  }
  await waitDeleted(host, watcher, pending);
  await watcher.close();
  return performance.now() - t0;
}

async function main() {
  const a = args();
  const n = Number(a.n);
  const host = await Handle.open();
  const { guests, createMs, phases } = await create(host, n, a.mode);
  report({ phase: 'created', createMs, ...(phases ? { phases } : {}) });
  await waitForGo();
  const teardownMs = await teardown(host, n, guests, a.teardown);
  await host.close();
  report({ phase: 'gone', teardownMs });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
