// The CNI benchmark: time per container for ADD and for DEL through libcni
// (the test driver, test/cni/driver: the library containerd, CRI-O and
// podman link), pipewright's plugin against the reference `bridge` +
// `host-local` plugins from containernetworking-plugins, sequential and
// concurrent, at N containers. Also the floor each call pays before doing
// any work — a process start: `node -e 0`, the plugin's VERSION call, the Go
// plugins' VERSION — so the table says how much of an ADD is process start
// (what the resident engine removes) and how much is work.
// Three ways, driven alike: 'pipewright' (the Node plugin, one Node process
// per call), 'pipewright-engine' (the native client build/Release/
// pipewright-fast installed as the plugin, a resident `pipewright engine`
// started untimed in the same namespace before the containers and stopped
// untimed after; every call must be served by it; timed warm, after an
// untimed first pass over the same containers, whose figures are reported
// apart) and 'bridge'. host-local's store and libcni's cache, which every
// call of every way writes to, are on an ext4 with a journal of the run's own
// (bench/lib/journaled-dir.js), as a host keeps /var/lib/cni.
// A busy network too: at the largest N, sequential, the engine and bridge
// again with host-local's store already holding --busy other leases (1,000;
// none with --quick), as on a host with many containers on the network:
// what an ADD costs as the store grows.
// Run by `npm run bench` (bench/run.js) or alone; re-runs itself in a sandbox.
//
//   node bench/cni.js [--quick] [--n 50,200] [--repeats R] [--parallel P] [--busy L] [--json FILE]
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } = require('node:fs');
const { loadavg, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { ensureSandbox } = require('pipewright/sandbox');
const { median, settle } = require('./lib/stats');
const { timeInBash } = require('./lib/bash-timing');
const { journaledDir } = require('./lib/journaled-dir');

ensureSandbox();

const { buildDriver, driverUnavailable } = require('../test/cni/driver/build');

const REPO = resolve(__dirname, '..');
const ENTRY = join(REPO, 'dist/lib/cli/cni.js');
const MAIN = join(REPO, 'dist/lib/cli/launch.js');
const FAST = join(REPO, 'build/Release/pipewright-fast');
const TYPES = ['pipewright', 'pipewright-engine', 'bridge'];
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
    else if (a === '--busy') o.busy = Number(argv[++i]);
    else if (a === '--json') o.json = argv[++i];
    else throw new Error(`unknown option ${a}`);
  }
  o.ns ??= o.quick ? [20, 50] : [50, 200];
  o.repeats ??= o.quick ? 1 : 3;
  o.parallel ??= DEFAULT_PARALLEL;
  o.busy ??= o.quick ? 0 : 1000;
  o.floorSamples = o.quick ? 10 : 30;
  return o;
}

const log = (...a) => console.error('[bench cni]', ...a);
const sh = (cmd, args, input, env) => execFileSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20, ...(env ? { env } : {}) });

/** A CNI_PATH: the plugin's wrapper, as a runtime would exec it (or the native client linked as it), and the reference plugins. */
function pluginDir(dir, native = false) {
  mkdirSync(dir);
  if (native) symlinkSync(FAST, join(dir, 'pipewright'));
  else {
    writeFileSync(join(dir, 'pipewright'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(ENTRY)} "$@"\n`);
    chmodSync(join(dir, 'pipewright'), 0o755);
  }
  for (const p of readdirSync('/usr/lib/cni')) symlinkSync(join('/usr/lib/cni', p), join(dir, p));
  return dir;
}

/** `pipewright engine` on its own socket, in the named namespace (or ours); resolves once ready with { status, stop }. */
function startEngine(socket, netnsName) {
  const argv = [process.execPath, MAIN, 'engine', '--socket', socket];
  const child = netnsName ? spawn('nsenter', [`--net=/run/netns/${netnsName}`, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const exited = new Promise((done) => child.once('close', done));
    child.stderr.on('data', (d) => {
      text += d;
      if (/ready on/.test(text)) resolve({ stop: () => (child.kill('SIGTERM'), exited), log: () => text });
    });
    child.once('close', (code) => reject(new Error(`the engine exited (${code}) before it was ready: ${text.trim()}`)));
  });
}

/** Commands the engine on `socket` has served. */
async function served(socket) {
  const { Engine } = require('pipewright');
  return (await (await Engine.connect({ socket })).status()).served;
}

/**
 * Each command's median wall time, run from one bash script with stdin from
 * a file, as a runtime runs a plugin (bench/lib/bash-timing.js: spawnSync
 * from this process, measured, tripled the client's figure). The commands
 * take turns, so each sees the same load.
 */
async function timeProcesses(ctx, samples, commands, stdin) {
  const dir = join(ctx.tmp, 'floors');
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'stdin');
  writeFileSync(input, stdin);
  const runs = [];
  for (let i = 0; i < samples; i++) for (const [name, c] of Object.entries(commands)) runs.push({ name, argv: c.argv, env: c.env });
  const ms = await timeInBash(dir, 'floors', runs, { stdin: input, env: { PATH: process.env.PATH } });
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)]));
}

async function floors(ctx, samples) {
  const version = ['CNI_COMMAND=VERSION'];
  const stdin = '{"cniVersion":"1.0.0"}';
  // The client's round trip to an engine (its start, the connection, the engine's dispatch): an engine of our own here.
  const socket = join(ctx.tmp, 'floor-engine.sock');
  const engine = await startEngine(socket, null);
  try {
    const before = await served(socket);
    const out = await timeProcesses(ctx, samples, {
      nodeStart: { env: [], argv: [process.execPath, '-e', '0'] },
      pipewrightVersion: { env: version, argv: [join(ctx.bin, 'pipewright')] },
      engineVersion: { env: [...version, `PW_STATE_DIR=${process.env.PW_STATE_DIR ?? ''}`, `PIPEWRIGHT_ENGINE_SOCKET=${socket}`], argv: [join(ctx.fastBin, 'pipewright')] },
      bridgeVersion: { env: version, argv: [join(ctx.bin, 'bridge')] },
      hostLocalVersion: { env: version, argv: [join(ctx.bin, 'host-local')] },
    }, stdin);
    if ((await served(socket)) - before !== samples) throw new Error('the engine did not serve every VERSION call');
    return out;
  } finally {
    await engine.stop();
  }
}

/** One measured run: N containers ADDed then DELeted through libcni, checked in between. */
/** `count` leases of other containers in the network's store, as host-local writes them, at addresses no run of ours reaches. */
function otherLeases(ipam, count) {
  const dir = join(ipam, 'benchnet');
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `10.30.${100 + (i >> 8)}.${i & 255}`), `other${i}\r\neth0`);
}

async function runOnce(ctx, type, n, parallel, busy = 0) {
  const viaEngine = type === 'pipewright-engine';
  const host = `cnib-host-${process.pid}`;
  const prefix = `cnib${process.pid}c`;
  const ipam = mkdtempSync(join(ctx.store, 'ipam-'));
  const conflist = join(ctx.tmp, `${type}.conflist`);
  writeFileSync(
    conflist,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'benchnet',
      plugins: [{ type: viaEngine ? 'pipewright' : type, bridge: 'cni0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.30.0.0/16' }]], dataDir: ipam } }],
    }),
  );
  const ids = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  sh('ip', ['netns', 'add', host]);
  sh('ip', ['-batch', '-'], ids.map((id) => `netns add ${id}\n`).join(''));
  // The engine runs where the runtime does (it serves callers of its own namespace only); its socket reaches the plugin through the driver's environment (libcni passes it on).
  const socket = join(ctx.tmp, 'engine.sock');
  const driverEnv = viaEngine ? { ...process.env, PIPEWRIGHT_ENGINE_SOCKET: socket } : undefined;
  let engine = null;
  const drive = (verb) => {
    const out = sh('nsenter', [`--net=/run/netns/${host}`, ctx.driver, '-path', viaEngine ? ctx.fastBin : ctx.bin, '-cache-dir', ctx.cache, 'bench', verb, conflist, String(n), String(parallel), prefix, '/run/netns'], undefined, driverEnv);
    const r = JSON.parse(out.trim().split('\n').pop());
    if (!r.ok) throw new Error(`${type} ${verb}: ${JSON.stringify(r.error)}`);
    return r.result;
  };
  const ports = () => JSON.parse(sh('ip', ['-n', host, '-j', 'link', 'show', 'master', 'cni0'])).length;
  const leases = () => readdirSync(join(ipam, 'benchnet')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).length - busy;
  otherLeases(ipam, busy);
  let cold = null;
  try {
    if (viaEngine) {
      engine = await startEngine(socket, host);
      // A resident engine is measured as it runs for days: warm. One untimed
      // pass over the same containers first (the first ADD after a start pays
      // for the JIT, ~25 ms more: reported apart, as `cold`); then the bridge
      // that pass made goes, so that the timed pass makes it as the others do.
      const warmAdd = drive('add');
      drive('del');
      sh('ip', ['-n', host, 'link', 'del', 'cni0']);
      cold = { firstMs: warmAdd.callNs[0] / 1e6, callMs: median(warmAdd.callNs) / 1e6, wallMs: warmAdd.wallNs / 1e6 };
    }
    const before = viaEngine ? await served(socket) : 0;
    const add = drive('add');
    if (ports() !== n || leases() !== n) throw new Error(`${type}: after ADD ${ports()} ports and ${leases()} leases, not ${n}`);
    const del = drive('del');
    if (ports() !== 0 || leases() !== 0) throw new Error(`${type}: after DEL ${ports()} ports and ${leases()} leases left`);
    // libcni also asks each plugin VERSION (through the engine too): at least one ADD and one DEL per container.
    if (viaEngine && (await served(socket)) - before < 2 * n) throw new Error(`${type}: the engine served ${(await served(socket)) - before} calls, fewer than the ${2 * n} ADDs and DELs`);
    return { addWallMs: add.wallNs / 1e6, addCallMs: median(add.callNs) / 1e6, delWallMs: del.wallNs / 1e6, delCallMs: median(del.callNs) / 1e6, ...(cold ? { cold } : {}) };
  } finally {
    await engine?.stop();
    sh('ip', ['-batch', '-'], ids.map((id) => `netns del ${id}\n`).join(''));
    sh('ip', ['netns', 'del', host]);
    rmSync(ipam, { recursive: true, force: true });
  }
}

async function measure(o) {
  const why = driverUnavailable();
  if (why) return { unavailable: why };
  const tmp = mkdtempSync(join(tmpdir(), 'pw-bench-cni-'));
  let store = null;
  try {
    if (!existsSync(FAST)) return { unavailable: `${FAST} does not exist (build it: npx node-gyp rebuild)` };
    store = journaledDir(tmp);
    log(`host-local's store and libcni's cache: ${store.fs}`);
    const ctx = { tmp, store: store.dir, driver: await buildDriver(), bin: pluginDir(join(tmp, 'bin')), fastBin: pluginDir(join(tmp, 'bin-fast'), true), cache: join(store.dir, 'cache') };
    log('floors: node -e 0, each plugin\'s VERSION call, and the native client\'s through an engine');
    const floor = await floors(ctx, o.floorSamples);
    const runs = {};
    for (const n of o.ns)
      for (const mode of ['sequential', 'concurrent'])
        for (let r = 0; r < o.repeats; r++)
          for (const type of r % 2 ? [...TYPES].reverse() : TYPES) {
            const load = loadavg()[0];
            await settle(o.quick ? 100 : 300, 3000);
            const parallel = mode === 'sequential' ? 1 : Math.min(o.parallel, n);
            log(`N=${n} ${mode} round ${r + 1}/${o.repeats}: ${type}`);
            const res = { ...(await runOnce(ctx, type, n, parallel)), load: [load, loadavg()[0]] };
            log(`  ADD ${(res.addWallMs / n).toFixed(1)} ms/container, DEL ${(res.delWallMs / n).toFixed(1)} ms/container (load ${res.load.map((x) => x.toFixed(2)).join(' → ')})`);
            ((runs[`${n}/${mode}`] ??= {})[type] ??= []).push(res);
          }
    if (o.busy > 0) {
      const n = Math.max(...o.ns);
      for (let r = 0; r < o.repeats; r++)
        for (const type of r % 2 ? ['bridge', 'pipewright-engine'] : ['pipewright-engine', 'bridge']) {
          const load = loadavg()[0];
          await settle(300, 3000);
          log(`N=${n} sequential, the store holding ${o.busy} other leases, round ${r + 1}/${o.repeats}: ${type}`);
          const res = { ...(await runOnce(ctx, type, n, 1, o.busy)), load: [load, loadavg()[0]] };
          log(`  ADD ${(res.addWallMs / n).toFixed(1)} ms/container, DEL ${(res.delWallMs / n).toFixed(1)} ms/container (load ${res.load.map((x) => x.toFixed(2)).join(' → ')})`);
          ((runs[`${n}/sequential, ${o.busy} other leases`] ??= {})[type] ??= []).push(res);
        }
    }
    return { floor, runs, parallel: o.parallel, storeFs: store.fs };
  } finally {
    store?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');

function report(m) {
  if (m.unavailable) return `## CNI plugin (libcni)\n\nnot measured: ${m.unavailable}\n`;
  const loads = Object.values(m.runs).flatMap((byType) => Object.values(byType).flatMap((rs) => rs.flatMap((r) => r.load ?? [])));
  const lines = [
    '## CNI plugin through libcni: pipewright (Node plugin; native client + engine) vs bridge + host-local',
    '',
    `Per container, ms: the run's wall time ÷ N (concurrent: ${m.parallel} calls at once), and the median single call. Ratios are against bridge (per-container wall): below 1 is faster than bridge. A mode "sequential, L other leases": host-local's store already held L leases of other containers (a busy network; the Node plugin not run). The engine is timed warm, after an untimed first pass over the same containers (its figures below). Load average during the runs: ${f2(Math.min(...loads))}–${f2(Math.max(...loads))} (2 CPUs). host-local's store and libcni's cache: ${m.storeFs ?? 'the temporary directory'} (bench/lib/journaled-dir.js says why).`,
    '',
    '| N | mode | verb | pipewright (Node) | pipewright + engine | bridge | Node ÷ bridge | engine ÷ bridge | median call: Node | engine | bridge |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [key, byType] of Object.entries(m.runs)) {
    const [n, mode] = key.split('/');
    for (const verb of ['add', 'del']) {
      const per = (t) => median((byType[t] ?? []).map((r) => r[`${verb}WallMs`])) / Number(n);
      const call = (t) => median((byType[t] ?? []).map((r) => r[`${verb}CallMs`]));
      const [pn, pe, br] = ['pipewright', 'pipewright-engine', 'bridge'].map(per);
      lines.push(`| ${n} | ${mode} | ${verb.toUpperCase()} | ${f1(pn)} | ${f1(pe)} | ${f1(br)} | ${f2(pn / br)} | ${f2(pe / br)} | ${f1(call('pipewright'))} | ${f1(call('pipewright-engine'))} | ${f1(call('bridge'))} |`);
    }
  }
  const fl = m.floor;
  const seq = Object.entries(m.runs).find(([k]) => k.endsWith('/sequential'));
  const seqCall = (t) => (seq && seq[1][t] ? median(seq[1][t].map((r) => r.addCallMs)) : NaN);
  const addCall = seqCall('pipewright');
  const engineCall = seqCall('pipewright-engine');
  const coldOf = (k) => (seq && seq[1]['pipewright-engine'] ? median(seq[1]['pipewright-engine'].map((r) => r.cold?.[k] ?? NaN)) : NaN);
  const coldN = seq ? Number(seq[0].split('/')[0]) : NaN;
  const bridgeCall = seqCall('bridge');
  // An ADD of pipewright's starts node once (host-local is built in: no process for IPAM); through the engine, the client only.
  const start = fl.pipewrightVersion;
  const engineStart = fl.engineVersion;
  lines.push(
    '',
    '### Where the time goes (sequential ADD, smallest N)',
    '',
    '| | ms |',
    '|---|---:|',
    `| \`node -e 0\` | ${f1(fl.nodeStart)} |`,
    `| pipewright VERSION (node start + loading the plugin) | ${f1(fl.pipewrightVersion)} |`,
    `| pipewright-fast VERSION through an engine (client start + round trip) | ${f1(fl.engineVersion)} |`,
    `| bridge VERSION (a Go plugin's start) | ${f1(fl.bridgeVersion)} |`,
    `| host-local VERSION | ${f1(fl.hostLocalVersion)} |`,
    `| pipewright ADD (Node), median call | ${f1(addCall)} |`,
    `| of which process starts (its VERSION; host-local is built in) | ${f1(start)} (${f1((100 * start) / addCall)} %) |`,
    `| pipewright ADD through the engine, median call | ${f1(engineCall)} |`,
    `| of which the client's round trip | ${f1(engineStart)} (${f1((100 * engineStart) / engineCall)} %) |`,
    `| the engine just started (its untimed first pass): first ADD | ${f1(coldOf('firstMs'))} |`,
    `| that pass: median call; per container (wall ÷ ${coldN}) | ${f1(coldOf('callMs'))}; ${f1(coldOf('wallMs') / coldN)} |`,
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
