// Concurrency: N attach() calls issued at once from one process (the guests'
// named namespaces made beforehand, untimed; one attach before, to warm up),
// all of which must succeed, while perf_hooks.monitorEventLoopDelay samples
// the event loop. The same histogram is first taken on the idle loop for
// comparison: other processes on the machine delay this one too.
//
// Node's histogram records the interval between its timer's callbacks, so
// with a 1 ms resolution an undisturbed loop reads about 1 ms; the delay is
// that interval minus the resolution, which is what is reported as delayMs.
//
//   node bench/eventloop.js --n 200 [--stub-firewall-check yes]
//                                       (speaks bench/lib/child.js's protocol)
//
// --stub-firewall-check is a diagnostic, not a way of running attach(): it
// replaces the bridge firewall check (native, and an `iptables -S` process
// forked on the event loop's thread when FORWARD drops) with one that finds
// nothing, to show how much of the delay the check is.
'use strict';

const { monitorEventLoopDelay, performance } = require('node:perf_hooks');
const { attach, Handle, Netns, PIPEWRIGHT_GROUP } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');
const W = require('./lib/workload');
const { report, waitForGo, args } = require('./lib/child');
const { sleep } = require('./lib/stats');

// Run by bench/run.js inside its sandbox; run directly, it makes its own.
ensureSandbox();

const RESOLUTION_MS = 1;

function snapshot(h) {
  const ms = (ns) => ns / 1e6;
  return {
    p99Ms: ms(h.percentile(99)),
    maxMs: ms(h.max),
    meanMs: ms(h.mean),
    delayP99Ms: Math.max(0, ms(h.percentile(99)) - RESOLUTION_MS),
    samples: h.count,
  };
}

async function idleBaseline(ms) {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  await sleep(ms);
  h.disable();
  return snapshot(h);
}

/**
 * One attach and its removal before measuring: the first call compiles and
 * loads code on demand (tens of ms of cold start, not what a long-running
 * process sees). Its host end goes the way a caller removes one.
 */
async function warmUp() {
  const name = 'warmup';
  const ns = await Netns.create({ name });
  const r = await attach({ hostIf: W.BRIDGE, guest: name, guestIf: 'eth0', address: '10.0.255.1/16', gateway: W.GATEWAY });
  const host = await Handle.open();
  await host.link.del(r.hostEnd.name);
  await host.close();
  await ns.delete();
}

async function main() {
  const a = args();
  const n = Number(a.n);
  if (a['stub-firewall-check'] === 'yes') require('../dist/lib/ops/firewall.js').bridgeFirewallWarning = async () => null;
  await warmUp();
  for (const k of W.range(n)) await (await Netns.create({ name: W.nsName(k) })).close();
  const idle = await idleBaseline(1000);

  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const t0 = performance.now();
  const results = await Promise.allSettled(
    W.range(n).map((k) =>
      attach({ hostIf: W.BRIDGE, guest: W.nsName(k), guestIf: 'eth0', address: W.cidr(k), gateway: W.GATEWAY }),
    ),
  );
  const wallMs = performance.now() - t0;
  h.disable();
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length) {
    console.error(`${failed.length} of ${n} attach() calls failed; first: ${failed[0].reason?.stack ?? failed[0].reason}`);
    process.exit(1);
  }
  report({ phase: 'created', createMs: wallMs, loop: snapshot(h), idle });
  await waitForGo();

  const t1 = performance.now();
  const host = await Handle.open();
  const watcher = host.watch(['link']);
  await watcher.ready;
  const pending = new Set(results.map((r) => r.value.hostEnd.name));
  await host.link.delGroup(PIPEWRIGHT_GROUP);
  await Promise.all(W.range(n).map((k) => Netns.remove(W.nsName(k))));
  while (pending.size) {
    const ev = await watcher.waitFor((e) => e.kind === 'overrun' || (e.kind === 'link' && e.action === 'del'), 30_000, { keepOpen: true });
    if (ev.kind === 'overrun') {
      for (const name of [...pending]) if (!(await host.link.find(name))) pending.delete(name);
    } else pending.delete(ev.link.name);
  }
  await watcher.close();
  await host.close();
  report({ phase: 'gone', teardownMs: performance.now() - t1 });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
