// What one library call costs beyond its kernel work (issue 15's last
// point): `node bench/call-cost.js [--calls 5000] [--rounds 3]` (re-runs
// itself in a sandbox). The same read, RTM_GETLINK of the loopback by index,
//  - awaited one after another: every call pays the hand-off to the addon's
//    netlink thread and the wake-up of the event loop with its answer;
//  - all asked at once: the hand-offs overlap, so the time per call is
//    close to the work itself (encoding, the kernel, decoding, the promise);
//  - ten in one runBatch: one hand-off per ten calls.
// The difference between the first and the others is the price of a
// sequential awaited call. Medians of the rounds, µs per call. The same
// process runs again with PIPEWRIGHT_ANSWER_WAIT_US=0 (the JS thread never
// waits for an answer: native/executor.h, SubmitAndWait) for a second
// column, so both are measured in the same run.
'use strict';

const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const { execFileSync } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { Handle } = require('pipewright');
const { addon } = require('../dist/lib/core/native');

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const CALLS = option('--calls', 5000);
const ROUNDS = option('--rounds', 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// µs per call, and the event loop's delay meanwhile (its timer's interval
// at 1 ms resolution, less the resolution): p99 and max, in ms.
async function perCall(fn) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = process.hrtime.bigint();
  await fn();
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / CALLS;
  h.disable();
  const delay = (ns) => Math.max(0, ns / 1e6 - 1);
  return { us, p99: delay(h.percentile(99)), max: delay(h.max) };
}

async function main() {
  const h = await Handle.open();
  try {
    const get = () => h.link.get(1);
    for (let i = 0; i < 1000; i++) await get(); // warm: the JIT and the thread
    const ways = {
      'awaited one after another': async () => {
        for (let i = 0; i < CALLS; i++) await get();
      },
      'all at once': () => Promise.all(Array.from({ length: CALLS }, get)),
      'ten per runBatch, awaited': async () => {
        const ten = Array.from({ length: 10 }, () => ({ op: 'link.get', args: { index: 1 } }));
        for (let i = 0; i < CALLS / 10; i++) await h.runBatch(ten);
      },
    };
    const us = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
    const loop = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
    const before = addon().stats();
    // Rounds interleave the ways, so a change in the machine's load falls on all of them.
    for (let r = 0; r < ROUNDS; r++) {
      for (const [k, fn] of Object.entries(ways)) {
        const m = await perCall(fn);
        us[k].push(m.us);
        loop[k].push(m);
      }
    }
    const after = addon().stats();
    const worst = (k, f) => Math.max(...loop[k].map((m) => m[f]));
    const mine = {
      perCall: Object.fromEntries(Object.keys(ways).map((k) => [k, median(us[k])])),
      loop: Object.fromEntries(Object.keys(ways).map((k) => [k, { p99: worst(k, 'p99'), max: worst(k, 'max') }])),
      waits: after.answerWaits - before.answerWaits,
      answered: after.answersWhileWaiting - before.answersWhileWaiting,
    };
    if (process.argv.includes('--child')) {
      console.log(JSON.stringify(mine));
      return;
    }
    const off = JSON.parse(
      execFileSync(process.execPath, [__filename, '--child', '--calls', String(CALLS), '--rounds', String(ROUNDS)], {
        env: { ...process.env, PIPEWRIGHT_ANSWER_WAIT_US: '0' },
        encoding: 'utf8',
      }),
    );
    console.log(`| way (${CALLS} calls, ${ROUNDS} rounds) | µs per call (median) | loop delay p99 / max, ms (worst round) | the JS thread never waiting: µs per call | loop delay p99 / max, ms |`);
    console.log('|---|---:|---:|---:|---:|');
    const lp = (r, k) => `${r.loop[k].p99.toFixed(2)} / ${r.loop[k].max.toFixed(2)}`;
    for (const k of Object.keys(ways)) console.log(`| ${k} | ${mine.perCall[k].toFixed(1)} | ${lp(mine, k)} | ${off.perCall[k].toFixed(1)} | ${lp(off, k)} |`);
    const handOff = (r) => r.perCall['awaited one after another'] - r.perCall['all at once'];
    console.log(`\nthe hand-off of an awaited call: ~${handOff(mine).toFixed(1)} µs (never waiting: ~${handOff(off).toFixed(1)} µs)`);
    console.log(`answers the JS thread waited for: ${mine.waits}, of which answered within the wait: ${mine.answered}`);
  } finally {
    await h.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
