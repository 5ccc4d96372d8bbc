// Memory: RSS after C create/delete cycles against RSS after the first 100.
// One cycle is what provisioning a guest does through every native path: an
// anonymous namespace (thread + unshare), a veth with its peer born inside it
// (host end grouped), a handle in it (thread + socket), an address and the
// link up there, one failing lookup (the native error path), then the handle
// and the namespace closed. Host ends are deleted a hundred at a time with
// one group delete: deleting links one by one costs the kernel ~20 ms each,
// which would make 10,000 cycles take minutes without exercising more code.
// The garbage collector runs before each reading, so RSS shows what is kept;
// the V8 heap in use and committed are reported beside it (V8 grows its
// young generation with the allocation rate: RSS that is not a leak).
//
//   node --expose-gc bench/memory.js --cycles 10000
'use strict';

const { performance } = require('node:perf_hooks');
const { Handle, Netns, isNetlinkError } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');
const { args, report } = require('./lib/child');

ensureSandbox();

const GROUP = 4243;
const CHUNK = 100;

/** RSS, and the V8 heap in use and committed (MB), after a full GC. */
function reading() {
  global.gc();
  const m = process.memoryUsage();
  return { rssMb: m.rss / 2 ** 20, heapUsedMb: m.heapUsed / 2 ** 20, heapTotalMb: m.heapTotal / 2 ** 20 };
}

async function cycle(host, i) {
  const ns = await Netns.create();
  const name = `vm${i % CHUNK}`;
  await host.link.add({ kind: 'veth', name, up: true, group: GROUP, peer: { name: 'eth0', netns: ns } });
  const g = await Handle.open(ns);
  await g.addr.add('eth0', `10.9.${(i >> 8) & 255}.${i & 255}/16`);
  await g.link.set('eth0', { up: true });
  if ((await g.link.find('missing0')) !== null) throw new Error('found a link that does not exist');
  await g.close();
  await ns.close();
}

async function main() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  const cycles = Number(args().cycles);
  const host = await Handle.open();
  const t0 = performance.now();
  const readings = {};
  for (let i = 0; i < cycles; i++) {
    await cycle(host, i);
    if ((i + 1) % CHUNK === 0) {
      // Closing a guest's namespace lets the kernel destroy it, and its veth
      // pair with it, asynchronously: on a loaded machine the whole group
      // can be gone already, which the kernel reports as ENODEV.
      await host.link.delGroup(GROUP).catch((e) => {
        if (!isNetlinkError(e, 'ENODEV')) throw e;
      });
      if (i + 1 === 100 || i + 1 === cycles) readings[i + 1] = reading();
    }
  }
  const left = await host.link.list({ kind: 'veth' });
  await host.close();
  if (left.length) throw new Error(`${left.length} veths left after the cycles`);
  report({ phase: 'done', cycles, after100: readings[100], afterAll: readings[cycles], wallMs: performance.now() - t0 });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
