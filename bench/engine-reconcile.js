// The engine's standing repair, measured (issue 15): P guests attached to a
// bridge by the library, a resident `pipewright engine` following them, then
// an "agent" releasing one port at a time, chosen at random (seeded), R times
// in all: for each release, the time from the release request until the
// kernel reports the port enslaved again (a link event, not polling). At the
// end every port must be in its bridge and up (0 left broken), and the
// engine's RSS before and after says whether following costs memory. The
// engine starts over whatever the journal holds: in `npm run bench`, the
// entries of guests the other ways made and deleted without a detach
// (staleAtStart), which it cleans while the releases are repaired.
//
//   node bench/engine-reconcile.js [--ports 200] [--releases 1000] [--seed 1]
//
// Prints one JSON line (the last line) for bench/run.js.
'use strict';

const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { attach, Handle, Engine } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');
const { startEngine, rssMb } = require('./lib/engine');

ensureSandbox();

const BRIDGE = 'pwrec0';
const ATTACH_CONCURRENCY = 32;

function options(argv) {
  const o = { ports: 200, releases: 1000, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o)) throw new Error(`unknown option ${argv[i]}`);
    o[k] = Number(argv[++i]);
  }
  return o;
}

/** A small seeded generator (mulberry32): the same releases every run. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many entries the ownership journal holds (stateDir/attachments). */
function journalEntries() {
  const dir = join(process.env.PW_STATE_DIR ?? '/run/pipewright', 'attachments');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).length : 0;
}

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];


async function main() {
  const o = options(process.argv.slice(2));
  const names = Array.from({ length: o.ports }, (_, i) => `rec${i}`);
  execFileSync('ip', ['-batch', '-'], { input: names.map((n) => `netns add ${n}`).join('\n') + '\n' });
  const host = await Handle.open();
  let engine;
  try {
    await host.link.add({ name: BRIDGE, kind: 'bridge', up: true });
    const br = await host.link.get(BRIDGE);
    const ports = [];
    for (let i = 0; i < names.length; i += ATTACH_CONCURRENCY) {
      const chunk = names.slice(i, i + ATTACH_CONCURRENCY);
      const rs = await Promise.all(chunk.map((g, j) => attach({ host, hostIf: BRIDGE, guest: g, address: `10.77.${(i + j) >> 8}.${((i + j) & 255) + 1}/16` })));
      ports.push(...rs.map((r) => r.hostEnd.index));
    }
    // Entries of guests gone before this run (other benchmarks' leftovers) are the engine's to clean as it starts, meanwhile: say how many.
    const staleAtStart = journalEntries() - ports.length;
    engine = await startEngine();
    const client = await Engine.connect();
    // Followed once every port is among what it follows (entries left by earlier runs are checked and dropped).
    for (;;) {
      const tracked = new Set((await client.status()).tracked.map((t) => t.index));
      if (ports.every((p) => tracked.has(p))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const rssStart = rssMb(engine.pid);
    const w = host.watch(['link']);
    await w.ready;
    const next = random(o.seed);
    const latencies = [];
    try {
      for (let k = 0; k < o.releases; k++) {
        const index = ports[Math.floor(next() * ports.length)];
        const t0 = performance.now();
        await host.link.set(index, { master: null });
        // An event is a hint (releasing sends some that still name the bridge): the link read back says when it is enslaved again.
        for (;;) {
          await w.waitFor((e) => e.kind === 'link' && e.link.index === index, 10_000, { keepOpen: true });
          const l = await host.link.find(index);
          if (l && l.master === br.index && l.up) break;
        }
        latencies.push(performance.now() - t0);
      }
    } finally {
      await w.close();
    }
    const links = await host.link.list({ master: BRIDGE });
    const enslaved = new Set(links.filter((l) => l.up).map((l) => l.index));
    const broken = ports.filter((p) => !enslaved.has(p)).length;
    const rssEnd = rssMb(engine.pid);
    const status = await client.status();
    console.log(
      JSON.stringify({
        ports: o.ports,
        releases: o.releases,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        broken,
        repairs: status.repairs,
        staleAtStart,
        rssStartMb: rssStart,
        rssEndMb: rssEnd,
      }),
    );
  } finally {
    // The guests go first, while the engine runs: their host ends go with them, and the engine removes their journal entries.
    execFileSync('sh', ['-c', `${names.map((n) => `ip netns delete ${n}`).join('; ')}; true`]);
    if (engine) {
      const client = await Engine.connect().catch(() => null);
      for (let left = 1; client && left > 0; ) {
        left = (await client.status()).tracked.length;
        if (left > 0) await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => (engine.once('close', r), engine.kill('SIGTERM')));
    }
    execFileSync('sh', ['-c', `ip link delete group ${0x7077} 2>/dev/null; ip link delete ${BRIDGE} 2>/dev/null; true`]);
    await host.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
