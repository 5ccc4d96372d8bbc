// The CNI plugin through the native client (build/Release/pipewright-fast
// installed as the plugin) and a resident engine: the same stdout and exit
// codes as the Node plugin for every verb and for refused input; without an
// engine the client execs the Node plugin; calls at once each get their own
// CNI_* environment; a caller the engine must not serve (another network
// namespace, another state directory) runs the Node plugin itself; a CNI
// call runs beside a command line at work in the engine, not after it.
import t from 'tap';
import { symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { withScene, type Scene } from '../helpers/scene';
import { CNI_MAIN, cniSkipReason, hostLocalConf, leases, netnsPath, pluginDir, runCni, type CniRun, type PluginDir } from '../helpers/cni';
import { FAST, longWatch, privateStateDir, startEngine, until, type RunningEngine } from '../helpers/engine';
import { sanitizerEnv } from '../helpers/sanitizer-env';

const skip = cniSkipReason();
if (skip) t.plan(0, skip);

interface Setup {
  /** The Node plugin, as installed today. */
  nodeDir: PluginDir;
  /** The native client as the plugin: `pipewright` (and `pipewright-cni`) link to it. */
  fastDir: PluginDir;
  stateDir: string;
}

function setup(s: Scene): Setup {
  const nodeDir = pluginDir({ 'pipewright-cni': `#!/bin/sh\nexec "${process.execPath}" "${CNI_MAIN}" "$@"\n` });
  const fastDir = pluginDir();
  unlinkSync(join(fastDir.dir, 'pipewright'));
  symlinkSync(FAST, join(fastDir.dir, 'pipewright'));
  symlinkSync(FAST, join(fastDir.dir, 'pipewright-cni'));
  const { dir: stateDir, remove } = privateStateDir();
  s.defer(async () => {
    nodeDir.remove();
    fastDir.remove();
    remove();
  });
  return { nodeDir, fastDir, stateDir };
}

async function sceneEngine(s: Scene, stateDir: string): Promise<RunningEngine> {
  const engine = await startEngine(s.hostNs, stateDir);
  s.defer(async () => engine.stop());
  return engine;
}

/** One plugin call in the scene's host namespace with this state directory; `extra` adds variables. */
function call(s: Scene, dir: string, stateDir: string, cni: Record<string, string>, stdin: string | object, extra: Record<string, string> = {}, plugin = 'pipewright'): Promise<CniRun> {
  return runCni(s.hostNs, dir, { command: cni.CNI_COMMAND ?? '', env: { CNI_PATH: dir, ...cni, PW_STATE_DIR: stateDir, ...extra }, plugin }, stdin);
}

/** MACs are random per attach; everything else must match. */
const normalize = (r: CniRun) => ({ code: r.code, stdout: r.stdout.replace(/"mac":"[0-9a-f:]{17}"/g, '"mac":"M"'), stderr: r.stderr });

/** A runtime's calls for one container, good and bad, in order. */
async function script(s: Scene, dir: string, stateDir: string, netns: string, p: PluginDir, leasesDir: string): Promise<Array<ReturnType<typeof normalize>>> {
  // Leases of its own: host-local goes on from the last address it gave, so each run starts afresh.
  const conf = hostLocalConf(p, {}, { dataDir: leasesDir });
  const ctr = { CNI_CONTAINERID: 'ctr1', CNI_NETNS: netns, CNI_IFNAME: 'eth0' };
  const out: CniRun[] = [];
  const add = await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, conf);
  out.push(add);
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, conf)); // again: the same result
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'CHECK', ...ctr }, { ...conf, prevResult: add.json }));
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr }, { ...conf, prevResult: add.json }));
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr }, conf)); // DEL twice
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, '{"cniVersion":')); // undecodable: 6
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: netns }, conf)); // no CNI_IFNAME: 4
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, { ...conf, cniVersion: '9.9.9' })); // unknown version: 1
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, { ...conf, ipMasq: true })); // refused field: 2
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'FROB', ...ctr }, conf)); // not a verb: 4
  out.push(await call(s, dir, stateDir, {}, conf)); // no CNI_COMMAND (only CNI_PATH): 4, still a plugin call
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}'));
  out.push(await call(s, dir, stateDir, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}', {}, 'pipewright-cni'));
  return out.map(normalize);
}

t.test('through the client and an engine: the same output and exit codes as the Node plugin; without an engine the client runs the Node plugin', (t) =>
  withScene(t, async (s) => {
    const { nodeDir, fastDir, stateDir } = setup(s);
    const g = await s.guest();
    const netns = netnsPath(g.ns);
    const expected = await script(s, nodeDir.dir, stateDir, netns, nodeDir, join(nodeDir.ipamDir, 'node'));
    t.same(expected.map((r) => r.code), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0], 'the Node plugin: the exit codes the spec asks for');
    t.same(expected.slice(5, 11).map((r) => JSON.parse(r.stdout).code), [6, 4, 1, 2, 4, 4], 'and its error codes');

    const fallback = await script(s, fastDir.dir, stateDir, netns, fastDir, join(fastDir.ipamDir, 'fallback'));
    t.same(fallback, expected, 'no engine: the client gives exactly what the Node plugin gives');

    const engine = await sceneEngine(s, stateDir);
    const before = (await engine.status()).served as number;
    const served = await script(s, fastDir.dir, stateDir, netns, fastDir, join(fastDir.ipamDir, 'engine'));
    t.same(served, expected, 'with the engine: the same output, stderr and exit codes');
    t.equal((await engine.status()).served - before, expected.length, 'every call was served by the engine');
    t.same(leases(join(fastDir.ipamDir, 'engine'), 'pwnet'), [], 'no lease left');
    t.equal(await g.handle.link.find('eth0'), null, 'nothing left in the container');
    t.same((await s.host.link.list({ master: 'cni0' })).length, 0, 'no port left on the bridge');
  }));

t.test('calls at once through the engine: each gets its own CNI_* environment, and none is left for the next', (t) =>
  withScene(t, async (s) => {
    const { fastDir, stateDir } = setup(s);
    const engine = await sceneEngine(s, stateDir);
    const conf = hostLocalConf(fastDir, {}, { subnet: '10.88.7.0/24' });
    const K = 4;
    const guests = await Promise.all(Array.from({ length: K }, () => s.guest()));
    // Each call asks host-local for its own address through CNI_ARGS, on its own interface name.
    const env = (k: number) => ({ CNI_CONTAINERID: `conc${k}`, CNI_NETNS: netnsPath(guests[k]!.ns), CNI_IFNAME: `net${k}`, CNI_ARGS: `IP=10.88.7.${50 + k}` });
    const adds = await Promise.all(guests.map((_, k) => call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...env(k) }, conf)));
    for (let k = 0; k < K; k++) {
      const r = adds[k]!;
      t.equal(r.code, 0, `ADD ${k}: ${r.stdout}${r.stderr}`);
      const res = r.json as { interfaces: Array<{ name: string; sandbox?: string }>; ips: Array<{ address: string }> };
      t.same([res.interfaces[2]!.name, res.interfaces[2]!.sandbox, res.ips[0]!.address], [`net${k}`, netnsPath(guests[k]!.ns), `10.88.7.${50 + k}/24`], `call ${k} got its own interface, namespace and address`);
      t.same((await guests[k]!.handle.addr.list({ dev: `net${k}`, family: 4 })).map((a) => a.address), [`10.88.7.${50 + k}`], `the kernel agrees for call ${k}`);
    }
    // A call that lacks what the ones before it had: answered as lacking it.
    const bare = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', CNI_NETNS: netnsPath(guests[0]!.ns), CNI_IFNAME: 'eth9' }, conf);
    t.equal(bare.code, 1);
    t.match(bare.json, { code: 4, msg: /CNI_CONTAINERID is required for ADD/ }, 'no CNI_CONTAINERID from an earlier call');
    // Without CNI_ARGS host-local picks a free address; an IP= left from the calls above would ask for a taken one and fail.
    const plain = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'plain', CNI_NETNS: netnsPath(guests[0]!.ns), CNI_IFNAME: 'eth9' }, conf);
    t.equal(plain.code, 0, `the next call has no CNI_ARGS of another: ${plain.stdout}`);
    t.notMatch((plain.json as { ips: Array<{ address: string }> }).ips[0]!.address, /^10\.88\.7\.5[0-3]\//, 'an address nobody asked for');
    const dels = await Promise.all([
      ...guests.map((_, k) => call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...env(k) }, conf)),
      call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'plain', CNI_NETNS: netnsPath(guests[0]!.ns), CNI_IFNAME: 'eth9' }, conf),
    ]);
    t.same(dels.map((d) => d.code), Array(K + 1).fill(0), 'every DEL succeeds');
    t.same(leases(fastDir.ipamDir, 'pwnet'), [], 'every lease released');
    t.ok((await engine.status()).served >= 2 * K + 2, 'the engine served them');
  }));

t.test("the announcement goes after the answer: the host drops a stale MAC for the address, what it has to say is logged, and the container's next call waits for it", (t) =>
  withScene(t, async (s) => {
    const { nodeDir, fastDir, stateDir } = setup(s);
    const engine = await sceneEngine(s, stateDir);
    const conf = hostLocalConf(fastDir);
    const g0 = await s.guest();
    const ctr0 = { CNI_CONTAINERID: 'ann0', CNI_NETNS: netnsPath(g0.ns), CNI_IFNAME: 'eth0' };
    t.equal((await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr0 }, conf)).code, 0, 'the first ADD makes cni0');
    // A bridge whose MAC follows its ports would change it (and flush its
    // neighbours) as ports join: give it its own. Then the host holds a
    // stale MAC for the address host-local hands out next, cached just now
    // (inside the kernel's 1 s locktime): only a gratuitous ARP replaces it.
    await s.host.link.set('cni0', { address: '02:00:00:00:b0:07' });
    const OLD_MAC = '02:00:00:00:00:99';
    await s.host.neigh.replace({ dev: 'cni0', address: '10.88.7.3', lladdr: OLD_MAC, state: 'stale' });
    const g = await s.guest();
    const ctr = { CNI_CONTAINERID: 'ann1', CNI_NETNS: netnsPath(g.ns), CNI_IFNAME: 'eth0' };
    const add = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, conf);
    t.equal(add.code, 0, `ADD through the engine: ${add.stdout}${add.stderr}`);
    t.equal((add.json as { ips: Array<{ address: string }> }).ips[0]!.address, '10.88.7.3/24', 'the address the host held a stale MAC for');
    // The ADD again takes the container's lock, which the first holds until its announcement is done.
    const again = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, conf);
    t.same([again.code, again.json], [0, add.json], 'the same container again: the same result');
    const mac = (await g.handle.link.get('eth0')).address!;
    // Its receipt is the host kernel's, a moment after the send: the state is waited for, bounded.
    const cached = await until("the host to cache the container's MAC", async () => {
      const n = (await s.host.neigh.list({ dev: 'cni0', family: 4 })).find((x) => x.address === '10.88.7.3');
      return n?.lladdr === mac ? n.lladdr : undefined;
    }, 5_000).catch(() => OLD_MAC);
    t.equal(cached, mac, "the host caches the container's MAC");
    t.equal((await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr0 }, conf)).code, 0, 'DEL the first');
    t.equal((await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr }, conf)).code, 0, 'DEL');

    // STP on: a new port listens for the forward delay, so the announcement
    // says it will not get past the bridge yet, a line to report after the answer.
    await s.host.link.add({ kind: 'bridge', name: 'cnistp', up: true, stp: true, forwardDelay: 1500 });
    const stp = (p: typeof fastDir) => hostLocalConf(p, { name: 'pwstp', bridge: 'cnistp', verbose: true }, { subnet: '10.88.8.0/24' });
    const g2 = await s.guest();
    const ctr2 = { CNI_CONTAINERID: 'ann2', CNI_NETNS: netnsPath(g2.ns), CNI_IFNAME: 'eth0' };
    const viaEngine = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr2 }, stp(fastDir));
    t.equal(viaEngine.code, 0, `ADD on the STP bridge through the engine: ${viaEngine.stdout}`);
    t.notMatch(viaEngine.stderr, /STP/, 'the answer carries nothing of the announcement');
    const line = await engine.waitLog(/after the answer to pid \d+: .*is (listening|learning|blocking) on cnistp \(STP/);
    t.pass(`the engine logs what the announcement had to say: ${line.trim()}`);
    t.equal((await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr2 }, stp(fastDir))).code, 0, 'DEL');
    // The Node plugin, with no engine to leave the work to, finishes it before it exits and prints its line (verbose).
    await engine.stop();
    const viaNode = await call(s, nodeDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr2 }, stp(nodeDir));
    t.equal(viaNode.code, 0, `ADD through the Node plugin: ${viaNode.stdout}`);
    t.match(viaNode.stderr, /pipewright-cni: .*is (listening|learning|blocking) on cnistp \(STP/, "the Node plugin prints the announcement's line on stderr");
    t.equal((await call(s, nodeDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr2 }, stp(nodeDir))).code, 0, 'DEL');
  }));

t.test('a caller the engine must not serve runs the Node plugin itself: another network namespace, another state directory', (t) =>
  withScene(t, async (s) => {
    const { fastDir, stateDir } = setup(s);
    const engine = await sceneEngine(s, stateDir);
    const version = '{"cniVersion":"1.0.0"}';
    const expected = '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n';
    // Another network namespace: the test's own, not the scene's host namespace where the engine runs.
    const { spawn } = await import('node:child_process');
    const here = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(join(fastDir.dir, 'pipewright'), [], { env: { PATH: process.env.PATH, PW_STATE_DIR: stateDir, CNI_COMMAND: 'VERSION', PIPEWRIGHT_ENGINE_DEBUG: '1', ...sanitizerEnv() } });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
      c.stdin.end(version);
    });
    t.same([here.code, here.stdout], [0, expected], 'answered by the Node plugin');
    t.match(here.stderr, /refused.*another network namespace/, 'the engine refused it');
    // Another state directory, pointed at this engine's socket.
    const other = privateStateDir();
    s.defer(async () => other.remove());
    const elsewhere = await call(s, fastDir.dir, other.dir, { CNI_COMMAND: 'VERSION' }, version, { PIPEWRIGHT_ENGINE_SOCKET: engine.socket, PIPEWRIGHT_ENGINE_DEBUG: '1' });
    t.same([elsewhere.code, elsewhere.stdout], [0, expected], 'answered by the Node plugin');
    t.match(elsewhere.stderr, /refused.*another state directory/, 'the engine refused it');
    const served = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'VERSION' }, version, { PIPEWRIGHT_ENGINE_DEBUG: '1' });
    t.same([served.code, served.stdout, served.stderr], [0, expected, ''], 'the same call from a caller it serves: answered by the engine');
  }));

t.test('a CNI call runs beside a command line at work in the engine: a long attach --watch does not hold an ADD back', (t) =>
  withScene(t, async (s) => {
    const { fastDir, stateDir } = setup(s);
    const engine = await sceneEngine(s, stateDir);
    const g = await s.guest({ named: true });
    // Ten minutes of watching, in the engine's serial queue: only the client's departure ends it within the test.
    const watch = await longWatch(s, engine, stateDir, g.ns.name!, '10.9.6.2/24');
    await until('its attach done', async () => (await g.handle.link.find('eth1')) ?? undefined);
    const c = await s.guest();
    const conf = hostLocalConf(fastDir, {}, { subnet: '10.88.9.0/24' });
    const ctr = { CNI_CONTAINERID: 'beside', CNI_NETNS: netnsPath(c.ns), CNI_IFNAME: 'eth0' };
    const add = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'ADD', ...ctr }, conf);
    t.equal(add.code, 0, `ADD while the watch runs: ${add.stdout}${add.stderr}`);
    t.equal(watch.child.exitCode, null, 'the watch is still at work');
    t.equal((await engine.status()).served, 1, 'the ADD was served by the engine (the watch is not done)');
    const del = await call(s, fastDir.dir, stateDir, { CNI_COMMAND: 'DEL', ...ctr }, { ...conf, prevResult: add.json });
    t.equal(del.code, 0, `DEL: ${del.stderr}`);
    await watch.end();
    await until('the watch ended in the engine', async () => ((await engine.status()).served === 3 ? true : undefined));
    t.same(leases(fastDir.ipamDir, 'pwnet'), [], 'the lease is released');
  }));
