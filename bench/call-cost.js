// What one library call costs beyond its kernel work (issue 15's last
// point): `node bench/call-cost.js [--calls 5000] [--rounds 3]` (re-runs
// itself in a sandbox). The same read, RTM_GETLINK of the loopback by index,
//  - awaited one after another: every call pays the hand-off to the addon's
//    netlink thread and the wake-up of the event loop with its answer;
//  - all asked at once: the hand-offs overlap, so the time per call is
//    close to the work itself (encoding, the kernel, decoding, the promise);
//  - ten in one runBatch: one hand-off per ten calls.
// The difference between the first and the others is the price of a
// sequential awaited call. Medians of the rounds, µs per call.
'use strict';

const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const { Handle } = require('pipewright');

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const CALLS = option('--calls', 5000);
const ROUNDS = option('--rounds', 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perCall(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / CALLS;
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
    // Rounds interleave the ways, so a change in the machine's load falls on all of them.
    for (let r = 0; r < ROUNDS; r++) for (const [k, fn] of Object.entries(ways)) us[k].push(await perCall(fn));
    console.log(`| way (${CALLS} calls, ${ROUNDS} rounds) | µs per call (median) |`);
    console.log('|---|---:|');
    for (const k of Object.keys(ways)) console.log(`| ${k} | ${median(us[k]).toFixed(1)} |`);
    const handOff = median(us['awaited one after another']) - median(us['all at once']);
    console.log(`\nthe hand-off of an awaited call: ~${handOff.toFixed(1)} µs`);
  } finally {
    await h.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
