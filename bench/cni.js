// The CNI benchmark: time per container for ADD and for DEL through libcni
// (the test driver, test/cni/driver: the library containerd, CRI-O and
// podman link), pipewright's plugin against the reference `bridge` +
// `host-local` plugins from containernetworking-plugins, sequential and
// concurrent, at N containers. Also the floor each call pays before doing
// any work — a process start: `node -e 0`, the plugin's VERSION call, the Go
// plugins' VERSION — so the table says how much of an ADD is process start
// (what the resident engine of the next issue removes) and how much is work.
// Run by `npm run bench` (bench/run.js) or alone; re-runs itself in a sandbox.
//
//   node bench/cni.js [--quick] [--n 50,200] [--repeats R] [--parallel P] [--json FILE]
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { performance } = require('node:perf_hooks');
const { ensureSandbox } = require('pipewright/sandbox');
const { median, settle } = require('./lib/stats');

ensureSandbox();

const { buildDriver, driverUnavailable } = require('../test/cni/driver/build');

const REPO = resolve(__dirname, '..');
const ENTRY = join(REPO, 'dist/lib/cli/cni.js');
const TYPES = ['pipewright', 'bridge'];
// How many calls run at once in the concurrent mode: what a runtime starting
// many containers does, bounded so N node processes (~50 MB each) never run
// at once on a small machine.
const DEFAULT_PARALLEL = 16;

function options(argv) {
  const o = { quick: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--n') o.ns = argv[++i].split(',').map(Number);
    else if (a === '--repeats') o.repeats = Number(argv[++i]);
    else if (a === '--parallel') o.parallel = Number(argv[++i]);
    else if (a === '--json') o.json = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  o.ns ??= o.quick ? [20, 50] : [50, 200];
  o.repeats ??= o.quick ? 1 : 3;
  o.parallel ??= DEFAULT_PARALLEL;
  o.floorSamples = o.quick ? 10 : 30;
  return o;
}

const log = (...a) => console.error('[bench cni]', ...a);
const sh = (cmd, args, input) => execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });

/** A CNI_PATH: the plugin's wrapper, as a runtime would exec it, and the reference plugins. */
function pluginDir(dir) {
  mkdirSync(dir);
  writeFileSync(join(dir, 'pipewright'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(ENTRY)} "$@"\n`);
  chmodSync(join(dir, 'pipewright'), 0o755);
  for (const p of readdirSync('/usr/lib/cni')) symlinkSync(join('/usr/lib/cni', p), join(dir, p));
  return dir;
}

/** Wall time of one process, ms. */
function timeProcess(cmd, args, env, input = '') {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

function floors(bin, samples) {
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' };
  const stdin = '{"cniVersion":"1.0.0"}';
  const sample = (f) => median(Array.from({ length: samples }, f));
  return {
    nodeStart: sample(() => timeProcess(process.execPath, ['-e', '0'], env)),
    pipewrightVersion: sample(() => timeProcess(join(bin, 'pipewright'), [], env, stdin)),
    bridgeVersion: sample(() => timeProcess(join(bin, 'bridge'), [], env, stdin)),
    hostLocalVersion: sample(() => timeProcess(join(bin, 'host-local'), [], env, stdin)),
  };
}

/** One measured run: N containers ADDed then DELeted through libcni, checked in between. */
function runOnce(ctx, type, n, parallel) {
  const host = `cnib-host-${process.pid}`;
  const prefix = `cnib${process.pid}c`;
  const ipam = mkdtempSync(join(ctx.tmp, 'ipam-'));
  const conflist = join(ctx.tmp, `${type}.conflist`);
  writeFileSync(
    conflist,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'benchnet',
      plugins: [{ type, bridge: 'cni0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.30.0.0/16' }]], dataDir: ipam } }],
    }),
  );
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  sh('ip', ['netns', 'add', host]);
  sh('ip', ['-batch', '-'], ids.map((id) => `netns add ${id}\n`).join(''));
  const drive = (verb) => {
    const out = sh('nsenter', [`--net=/run/netns/${host}`, ctx.driver, '-path', ctx.bin, '-cache-dir', ctx.cache, 'bench', verb, conflist, String(n), String(parallel), prefix, '/run/netns']);
    const r = JSON.parse(out.trim().split('\n').pop());
    if (!r.ok) throw new Error(`${type} ${verb}: ${JSON.stringify(r.error)}`);
    return r.result;
  };
  const ports = () => JSON.parse(sh('ip', ['-n', host, '-j', 'link', 'show', 'master', 'cni0'])).length;
  const leases = () => readdirSync(join(ipam, 'benchnet')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length;
  try {
    const add = drive('add');
    if (ports() !== n || leases() !== n) throw new Error(`${type}: after ADD ${ports()} ports and ${leases()} leases, not ${n}`);
    const del = drive('del');
    if (ports() !== 0 || leases() !== 0) throw new Error(`${type}: after DEL ${ports()} ports and ${leases()} leases left`);
    return { addWallMs: add.wallNs / 1e6, addCallMs: median(add.callNs) / 1e6, delWallMs: del.wallNs / 1e6, delCallMs: median(del.callNs) / 1e6 };
  } finally {
    sh('ip', ['-batch', '-'], ids.map((id) => `netns del ${id}\n`).join(''));
    sh('ip', ['netns', 'del', host]);
    rmSync(ipam, { recursive: true, force: true });
  }
}

async function measure(o) {
  const why = driverUnavailable();
  if (why) return { unavailable: why };
  const tmp = mkdtempSync(join(tmpdir(), 'pw-bench-cni-'));
  try {
    const ctx = { tmp, driver: await buildDriver(), bin: pluginDir(join(tmp, 'bin')), cache: join(tmp, 'cache') };
    log('floors: node -e 0 and each plugin\'s VERSION call');
    const floor = floors(ctx.bin, o.floorSamples);
    const runs = {};
    for (const n of o.ns)
      for (const mode of ['sequential', 'concurrent'])
        for (let r = 0; r < o.repeats; r++)
          for (const type of r % 2 ? [...TYPES].reverse() : TYPES) {
            await settle(o.quick ? 100 : 300, 3000);
            const parallel = mode === 'sequential' ? 1 : Math.min(o.parallel, n);
            log(`N=${n} ${mode} round ${r + 1}/${o.repeats}: ${type}`);
            const res = runOnce(ctx, type, n, parallel);
            log(`  ADD ${(res.addWallMs / n).toFixed(1)} ms/container, DEL ${(res.delWallMs / n).toFixed(1)} ms/container`);
            ((runs[`${n}/${mode}`] ??= {})[type] ??= []).push(res);
          }
    return { floor, runs, parallel: o.parallel };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function report(m) {
  if (m.unavailable) return `## CNI plugin (libcni)\n\nnot measured: ${m.unavailable}\n`;
  const lines = [
    '## CNI plugin through libcni: pipewright vs bridge + host-local',
    '',
    `Per container, ms: the run's wall time ÷ N (concurrent: ${m.parallel} calls at once), and the median single call. Ratio = pipewright ÷ bridge (per-container wall).`,
    '',
    '| N | mode | verb | pipewright ms/container | bridge ms/container | ratio | pipewright median call | bridge median call |',
    '|---:|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const [key, byType] of Object.entries(m.runs)) {
    const [n, mode] = key.split('/');
    for (const verb of ['add', 'del']) {
      const per = (t) => median((byType[t] ?? []).map((r) => r[`${verb}WallMs`])) / Number(n);
      const call = (t) => median((byType[t] ?? []).map((r) => r[`${verb}CallMs`]));
      lines.push(`| ${n} | ${mode} | ${verb.toUpperCase()} | ${f1(per('pipewright'))} | ${f1(per('bridge'))} | ${f2(per('pipewright') / per('bridge'))} | ${f1(call('pipewright'))} | ${f1(call('bridge'))} |`);
    }
  }
  const fl = m.floor;
  const seq = Object.entries(m.runs).find(([k]) => k.endsWith('/sequential'));
  const addCall = seq ? median(seq[1].pipewright.map((r) => r.addCallMs)) : NaN;
  const bridgeCall = seq ? median(seq[1].bridge.map((r) => r.addCallMs)) : NaN;
  // An ADD of pipewright's starts node once and host-local once (delegated IPAM).
  const start = fl.pipewrightVersion + fl.hostLocalVersion;
  lines.push(
    '',
    '### Where the time goes (sequential ADD, smallest N)',
    '',
    '| | ms |',
    '|---|---:|',
    `| \`node -e 0\` | ${f1(fl.nodeStart)} |`,
    `| pipewright VERSION (node start + loading the plugin) | ${f1(fl.pipewrightVersion)} |`,
    `| bridge VERSION (a Go plugin's start) | ${f1(fl.bridgeVersion)} |`,
    `| host-local VERSION | ${f1(fl.hostLocalVersion)} |`,
    `| pipewright ADD, median call | ${f1(addCall)} |`,
    `| of which process starts (its VERSION + host-local's) | ${f1(start)} (${f1((100 * start) / addCall)} %) |`,
    `| of which work (netlink, IPAM's work, records, libcni) | ${f1(addCall - start)} |`,
    `| bridge ADD, median call | ${f1(bridgeCall)} |`,
    `| of which process starts (bridge + host-local) | ${f1(fl.bridgeVersion + fl.hostLocalVersion)} |`,
    '',
  );
  return lines.join('\n');
}

async function main() {
  const o = options(process.argv.slice(2));
  const m = await measure(o);
  if (o.json) writeFileSync(o.json, JSON.stringify({ options: o, ...m }, null, 2));
  console.log(report(m));
}

if (require.main === module)
  main().catch((e) => {
    console.error(`\nbench cni FAILED: ${e.stack || e}`);
    process.exit(1);
  });

module.exports = { measure, report, options };
