// The benchmark suite: `npm run bench` (full) or `npm run bench -- --quick`.
// Runs every way of provisioning the workload (bench/lib/workload.js) at
// several N, verifies every run, and prints markdown tables of medians,
// ranges and the ratios issue 6 sets as targets. Re-runs itself inside a
// sandbox (scripts/sandbox.sh): it never touches the host's network.
//
//   node bench/run.js [--quick] [--n 50,200] [--repeats 3] [--only c,lib-seq]
//                     [--skip-extras] [--skip-cni] [--asan] [--json FILE]
//                     [--batch-concurrency N|default] [--soak-cycles N]
//                     [--cpus LIST]
//
// --cpus holds the run (every way's processes and threads) to the CPUs LIST
// names, as taskset -c takes it (e.g. 0): a container or VM with one CPU.
// --soak-cycles: the engine's memory soak (bench/engine-soak.js; default
// 100000, quick 2000, 0 leaves it out), one of the extras.
// --only takes way ids (bench/lib/ways.js): c, c-each, lib-seq, lib-batch,
// lib-conc, lib-each, ip-batch, ip-step, pipework, cli-one, cli-engine,
// cli-fallback, batch-lines, batch-json, and cni: the CNI plugin through libcni
// against the reference bridge + host-local (bench/cni.js, its own N: 50 and
// 200, quick 20 and 50; --skip-cni leaves it out; `--only cni` runs it alone).
// --batch-concurrency sets the batch ways' --concurrency
// (bench/ways/cli-batch.js has the default and why; "default": the command's own).
// --asan also runs the memory loop against the sanitized addon that
// scripts/asan.sh builds (run that script once first).
'use strict';

const { execFileSync } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const { buildReference } = require('./reference/build');
const { allWays } = require('./lib/ways');
const { protocol } = require('./lib/proc');
const { verifyCreated, verifyGone } = require('./lib/verify');
const { settle } = require('./lib/stats');
const { printReport } = require('./lib/table');
const { memoryUnderAsan } = require('./lib/asan');
const W = require('./lib/workload');
const cniBench = require('./cni');

function options(argv) {
  const o = { quick: false, only: null, json: null, skipExtras: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--skip-extras') o.skipExtras = true;
    else if (a === '--skip-cni') o.skipCni = true;
    else if (a === '--asan') o.asan = true;
    else if (a === '--n') o.ns = argv[++i].split(',').map(Number);
    else if (a === '--repeats') o.repeats = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',');
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--soak-cycles') o.soakCycles = Number(argv[++i]);
    else if (a === '--cpus') o.cpus = argv[++i];
    else if (a === '--batch-concurrency') o.batchConcurrency = argv[++i] === 'default' ? 'default' : Number(argv[i]);
    else throw new Error(`unknown option ${a}`);
  }
  // 'cni' is not a way of the shared workload: a section of its own.
  o.cni = !o.skipCni && (!o.only || o.only.includes('cni'));
  if (o.only) {
    o.only = o.only.filter((id) => id !== 'cni');
    if (o.only.length === 0) o.skipExtras = true;
  }
  o.ns ??= o.quick ? [50, 200] : [50, 200, 1000];
  o.repeats ??= o.quick ? 2 : 5;
  // Slow ways (a process per step, or a kernel wait per deleted link) take
  // seconds to minutes per run at large N: they run fewer times, and in the
  // quick run only at N = 50. The CLI, a Node start per guest, stops at 200.
  o.slowRepeats = o.quick ? 1 : 3;
  o.slowMaxN = o.quick ? 50 : Infinity;
  o.cliMaxN = o.quick ? 50 : 200;
  o.cycles = o.quick ? 2000 : 10000;
  // The engine's soak (issue 15: 100k attach/detach cycles); takes long, so the quick run does a slice.
  o.soakCycles ??= o.quick ? 2000 : 100000;
  return o;
}

const log = (...a) => console.error('[bench]', ...a);

function setUpBridge() {
  execFileSync('sh', ['-c', `ip link add ${W.BRIDGE} type bridge && ip addr add ${W.GATEWAY}/${W.PREFIX} dev ${W.BRIDGE} && ip link set ${W.BRIDGE} up`]);
}

const SLOW = new Set(['pipework', 'cli-one', 'cli-fallback', 'ip-step', 'c-each', 'lib-each']);

async function runWays(o, env, ways) {
  const results = {};
  for (const n of o.ns) {
    const active = ways.filter((w) => !w.maxN || n <= w.maxN);
    const repeats = n >= 1000 ? Math.min(o.repeats, 3) : o.repeats;
    for (let r = 0; r < repeats; r++) {
      // A different starting way each round, so no way always runs first.
      const order = active.map((_, i) => active[(i + r) % active.length]);
      for (const way of order) {
        if (SLOW.has(way.id) && (r >= o.slowRepeats || n > o.slowMaxN)) continue;
        await settle(o.quick ? 100 : 200 + n, 2000);
        log(`N=${n} round ${r + 1}/${repeats}: ${way.id}`);
        const res = await way.run(env, n);
        ((results[way.id] ??= {})[n] ??= []).push(res);
        log(`  create ${res.createMs.toFixed(1)} ms, teardown ${res.teardownMs.toFixed(1)} ms`);
      }
    }
  }
  return results;
}

async function eventLoop(env, n, runs, stubFirewall) {
  const out = [];
  for (let r = 0; r < runs; r++) {
    await settle(500, 5000);
    log(`event loop: ${n} concurrent attach() calls, run ${r + 1}/${runs}${stubFirewall ? ', firewall check stubbed (diagnostic)' : ''}`);
    const args = [join(__dirname, 'eventloop.js'), '--n', String(n), ...(stubFirewall ? ['--stub-firewall-check', 'yes'] : [])];
    const res = await protocol(process.execPath, args, () => verifyCreated(n, env.tmp));
    verifyGone();
    out.push(res);
  }
  return out;
}

function engineReconcile(ports, releases) {
  log(`engine reconcile: ${releases} releases across ${ports} ports`);
  const out = execFileSync(process.execPath, [join(__dirname, 'engine-reconcile.js'), '--ports', String(ports), '--releases', String(releases)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

function engineSoak(cycles) {
  log(`engine soak: ${cycles} attach/detach cycles while the engine follows them`);
  const out = execFileSync(process.execPath, [join(__dirname, 'engine-soak.js'), '--cycles', String(cycles)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

function memory(cycles) {
  log(`memory: ${cycles} create/delete cycles`);
  const out = execFileSync(process.execPath, ['--expose-gc', join(__dirname, 'memory.js'), '--cycles', String(cycles)], { encoding: 'utf8' });
  verifyGone();
  return JSON.parse(out.trim().split('\n').pop());
}

/** Holds this process (every thread) and so everything it starts to the CPUs listed; returns them as the kernel took them. */
function holdToCpus(list) {
  if (!/^[0-9][0-9,-]*$/.test(list)) throw new Error(`--cpus: '${list}' is not a CPU list (e.g. 0 or 0,2 or 0-1)`);
  execFileSync('taskset', ['-a', '-p', '-c', list, String(process.pid)], { stdio: 'ignore' });
  return execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' }).split(':').pop().trim();
}

async function main() {
  const o = options(process.argv.slice(2));
  const heldTo = o.cpus ? holdToCpus(o.cpus) : null;
  const tmp = mkdtempSync(join(tmpdir(), 'pw-bench-'));
  try {
    const env = { tmp, cBinary: buildReference(tmp) };
    setUpBridge();
    verifyGone();
    const all = allWays(o);
    // A mistyped id would otherwise just leave its way out of the tables.
    const unknown = (o.only ?? []).filter((id) => !all.some((w) => w.id === id));
    if (unknown.length) throw new Error(`--only: no way called ${unknown.join(', ')} (ways: ${all.map((w) => w.id).join(', ')})`);
    const ways = all.filter((w) => !o.only || (o.only.length > 0 && o.only.includes(w.id)));
    const unavailable = {};
    const runnable = ways.filter((w) => {
      const why = w.available ? w.available() : null;
      if (why) unavailable[w.id] = why;
      return !why;
    });
    const started = Date.now();
    const loadAtStart = require('node:os').loadavg();
    const results = await runWays(o, env, runnable);
    const extras = {};
    if (!o.skipExtras) {
      extras.eventLoop = await eventLoop(env, 200, o.quick ? 1 : 3, false);
      extras.eventLoopNoFirewall = await eventLoop(env, 200, o.quick ? 1 : 3, true);
      extras.memory = memory(o.cycles);
      extras.reconcile = o.quick ? engineReconcile(50, 200) : engineReconcile(200, 1000);
      if (o.soakCycles > 0) extras.soak = engineSoak(o.soakCycles);
      if (o.asan) {
        log(`memory loop under AddressSanitizer: ${o.cycles} cycles`);
        extras.asan = memoryUnderAsan(o.cycles, tmp);
        verifyGone();
      }
    }
    if (o.cni) {
      log('CNI: pipewright vs bridge + host-local through libcni');
      extras.cni = await cniBench.measure(cniBench.options(o.quick ? ['--quick'] : []));
    }
    const meta = {
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
      cpus: require('node:os').cpus().length,
      heldTo,
      node: process.version,
      iproute2: execFileSync('ip', ['-V'], { encoding: 'utf8' }).trim(),
      minutes: (Date.now() - started) / 60000,
      // Other work on the machine shows up in every timing: say how much.
      loadavg: { atStart: loadAtStart, atEnd: require('node:os').loadavg() },
      options: o,
    };
    if (o.json) writeFileSync(o.json, JSON.stringify({ meta, results, extras, unavailable }, null, 2));
    // `--only cni` ran none of the shared workload's ways: no empty tables for them.
    if (runnable.length > 0 || !o.skipExtras) printReport({ meta, ways, results, extras, unavailable });
    if (extras.cni) console.log(`\n${cniBench.report(extras.cni)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`\nbench FAILED: ${e.stack || e}`);
  process.exit(1);
});
