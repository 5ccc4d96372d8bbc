// The engine's memory under churn (issue 15: "RSS flat over 24 h-equivalent
// of churn, compressed: 100k attach/detach cycles"). A resident
// `pipewright engine` follows everything in the journal while guests are
// attached and detached over and over: most cycles by the library in this
// process (the engine sees them through the journal and link events, as it
// sees any other tool's), one in `--served-every` as command lines the
// engine itself runs (Engine.connect().run()). The engine's RSS is sampled
// as it goes. The first half is warm-up: the allocator and V8's heap size
// themselves over tens of thousands of cycles (RSS rose from 53 to 97 MB
// over the first 30k of 100k cycles, then stayed within 2 MB), so the
// verdict compares the last quarter's median with the third quarter's: a
// leak grows steadily and shows there; the first allocations do not.
//
//   node bench/engine-soak.js [--cycles 100000] [--guests 32] [--served-every 10] [--samples 20]
//
// Prints one JSON line (the last line) for bench/run.js.
'use strict';

const { execFileSync } = require('node:child_process');
const { attach, detach, Handle, Engine } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');
const { startEngine, rssMb } = require('./lib/engine');

ensureSandbox();

const BRIDGE = 'pwsoak0';

function options(argv) {
  const o = { cycles: 100000, guests: 32, 'served-every': 10, samples: 20 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    o[k] = Number(argv[++i]);
  }
  return o;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];


async function main() {
  const o = options(process.argv.slice(2));
  const names = Array.from({ length: o.guests }, (_, i) => `soak${i}`);
  execFileSync('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}`).join('\n') + '\n' });
  const host = await Handle.open();
  let engine;
  try {
    await host.link.add({ name: BRIDGE, kind: 'bridge', up: true });
    engine = await startEngine();
    const client = await Engine.connect();
    const address = (g) => `10.78.0.${g + 1}/16`;
    const served = { attach: 0, detach: 0, failed: 0 };
    /** One cycle of guest g: attach, then detach; by the engine when `byEngine`. */
    const cycle = async (g, byEngine) => {
      if (!byEngine) {
        await attach({ host, hostIf: BRIDGE, guest: names[g], address: address(g) });
        await detach({ host, guest: names[g] });
        return;
      }
      const a = await client.run([BRIDGE, names[g], address(g)]);
      const d = await client.run(['detach', names[g]]);
      served.attach += a.exitCode === 0 ? 1 : 0;
      served.detach += d.exitCode === 0 ? 1 : 0;
      if (a.exitCode !== 0 || d.exitCode !== 0) served.failed++;
    };
    const samples = [];
    const every = Math.max(1, Math.floor(o.cycles / o.samples));
    const t0 = Date.now();
    let done = 0;
    // Each guest runs its own cycles in order; guests run side by side.
    const perGuest = Math.ceil(o.cycles / o.guests);
    await Promise.all(
      names.map(async (_, g) => {
        for (let k = 0; k < perGuest && done < o.cycles; k++) {
          const n = done++;
          await cycle(g, o['served-every'] > 0 && n % o['served-every'] === 0);
          if (n % every === 0) samples.push({ cycle: n, rssMb: rssMb(engine.pid), heapUsedMb: (await client.status()).memory.heapUsed });
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    samples.sort((a, b) => a.cycle - b.cycle);
    const quarter = (q) => samples.slice(Math.floor((q * samples.length) / 4), Math.floor(((q + 1) * samples.length) / 4));
    const third = quarter(2);
    const last = quarter(3);
    const status = await client.status();
    console.log(
      JSON.stringify({
        cycles: done,
        seconds,
        servedByEngine: served,
        rssStartMb: samples[0].rssMb,
        rssThirdQuarterMedianMb: median(third.map((x) => x.rssMb)),
        rssLastQuarterMedianMb: median(last.map((x) => x.rssMb)),
        rssEndMb: rssMb(engine.pid),
        rssMaxMb: Math.max(...samples.map((x) => x.rssMb)),
        heapUsedThirdQuarterMedianMb: median(third.map((x) => x.heapUsedMb)),
        heapUsedLastQuarterMedianMb: median(last.map((x) => x.heapUsedMb)),
        trackedAtEnd: status.tracked.length,
        samples,
      }),
    );
  } finally {
    execFileSync('sh', ['-c', `${names.map((n) => `ip netns delete ${n}`).join('; ')}; true`]);
    if (engine) await new Promise((r) => (engine.once('close', r), engine.kill('SIGTERM')));
    execFileSync('sh', ['-c', `ip link delete group ${0x7077} 2>/dev/null; ip link delete ${BRIDGE} 2>/dev/null; true`]);
    await host.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
