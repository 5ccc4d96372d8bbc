// The resident engine (`pipewright engine`) and its native client
// (build/Release/pipewright-fast) against the real kernel: the same output
// and exit codes with the engine as without it; peers it must refuse; a
// client that finds no engine (missing, stale, foreign socket) runs the
// Node CLI; and the engine's standing repair of what it follows, long after
// any attach has returned. Each test has its own scene (host namespace) and
// its own state directory, so engines never meet.
import t from 'tap';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withScene, inNetns, uniqueName, type Scene } from '../helpers/scene';
import { startEngine, sceneEngine, followed, fast, node, privateStateDir, tied, until } from '../helpers/engine';
import { Engine } from '../../lib/ops/engine';
import { Netns } from '../../lib';

/** Whether uid 65534 (nobody) exists in our user namespace: not in a rootless run, where only root is mapped. */
function nobodyMapped(): boolean {
  return readFileSync('/proc/self/uid_map', 'utf8')
    .trim()
    .split('\n')
    .some((l) => {
      const [inside, , count] = l.trim().split(/\s+/).map(Number);
      return inside! <= 65534 && 65534 < inside! + count!;
    });
}
const NO_NOBODY = nobodyMapped() ? false : 'uid 65534 is not mapped in this user namespace (rootless run)';

/** Indexes change between runs (the kernel numbers links afresh); everything else must match. */
const normalize = (text: string) => text.replace(/("(?:\w*[iI]ndex|master)": )\d+/g, '$1N').replace(/\bindex \d+/g, 'index N');

t.test('engine on and off: the same output and exit codes for attach, detach, --json, batch and errors (2, 3, 6)', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const a = (await s.guest({ named: true })).ns.name!;
    const b = (await s.guest({ named: true })).ns.name!;
    const c = await s.guest({ named: true });
    // An eth1 in c that is not pipewright's: detach refuses it (exit 6).
    await inNetns(c.ns, 'ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'other1']);
    const script: Array<{ args: string[]; code: number; stdin?: string }> = [
      { args: ['br0', a, '10.9.0.2/24@10.9.0.1', '02:00:00:00:09:02'], code: 0 },
      { args: ['attach', '--host-if', 'br0', '--guest', `netns:${b}`, '--address', '10.93.77.3/24', '--mac', '02:00:00:00:09:03', '--json'], code: 0 },
      { args: ['br0', a, '10.9.0.2/24@10.9.0.1', '02:00:00:00:09:02', '--verbose'], code: 0 },
      // find-ip looks at every namespace on the machine: an address no other test uses, so tests running beside this one cannot answer too.
      { args: ['find-ip', '10.93.77.3', '--json'], code: 0 },
      { args: ['br0', a, '10.9.0.9/24@10.9.0.1'], code: 6 },
      { args: ['br0', 'no-such-guest-pw', '10.9.0.4/24'], code: 3 },
      { args: ['attach', '--host-if', 'br0'], code: 2 },
      { args: ['atach'], code: 2 },
      { args: ['detach', c.ns.name!], code: 6 },
      { args: ['detach', c.ns.name!, '--json'], code: 6 },
      { args: ['detach', a, '--json'], code: 0 },
      { args: ['detach', `netns:${b}`], code: 0 },
      { args: ['detach', a], code: 0 },
      { args: ['batch', '-', '--json'], code: 0, stdin: `br0 ${a} 10.9.0.5/24 02:00:00:00:09:05\n` },
      { args: ['detach', a, '-v'], code: 0 },
      { args: ['--version'], code: 0 },
      { args: ['help', 'detach'], code: 0 },
    ];
    const runAll = async (how: 'engine' | 'node') => {
      const out = [];
      for (const step of script) {
        const r = how === 'engine' ? await fast(s.hostNs, stateDir, step.args, {}, step.stdin) : await node(s.hostNs, stateDir, step.args, step.stdin);
        t.equal(r.code, step.code, `${how}: pipewright ${step.args.join(' ')}: exit ${step.code} (${r.stderr.trim()})`);
        out.push({ args: step.args.join(' '), code: r.code, stdout: normalize(r.stdout), stderr: normalize(r.stderr) });
      }
      // Back to the start: the bridge the first attach made goes too.
      await s.host.link.del('br0');
      return out;
    };
    const before = (await engine.status()).served as number;
    const withEngine = await runAll('engine');
    t.equal((await engine.status()).served, before + script.length, 'every command line ran in the engine (none fell back)');
    const memory = (await engine.status()).memory as { rss: number; heapUsed: number };
    t.ok(memory.rss > 0 && memory.heapUsed > 0 && memory.heapUsed < memory.rss, 'status says the engine\'s memory (MB)', { memory });
    const withoutEngine = await runAll('node');
    t.same(withEngine, withoutEngine, 'stdout, stderr and exit code are the same, command by command');
  }),
);

t.test('the engine does not wait on its JS thread for quick answers, unless PIPEWRIGHT_ANSWER_WAIT_US asks it to; its loop polls unless PIPEWRIGHT_POLL_US=0', (t) =>
  withScene(t, async (s) => {
    for (const [env, want] of [[undefined, 0], ['150', 150]] as const) {
      const { dir, remove } = privateStateDir();
      const engine = await startEngine(s.hostNs, dir, [], { PIPEWRIGHT_ANSWER_WAIT_US: env, PIPEWRIGHT_POLL_US: env === undefined ? undefined : '0' });
      try {
        t.equal((await engine.status()).answerWaitUs, want, `PIPEWRIGHT_ANSWER_WAIT_US ${env ?? 'unset'}: status says ${want} µs`);
        // Its loop polls for answers while a few are on their way (1 ms without one, by default), unless PIPEWRIGHT_POLL_US says otherwise.
        t.equal((await engine.status()).pollUs, env === undefined ? 1000 : 0, 'status says how long its loop polls');
      } finally {
        await engine.stop();
        remove();
      }
    }
  }),
);

t.test('a peer that is not root is refused (SO_PEERCRED) and its command runs without the engine', { skip: NO_NOBODY }, (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    // A socket anyone may connect to, so that only the credentials check stands in the way.
    const open = join(process.env.PW_STATE_DIR ?? '/tmp', uniqueName('engine-open'));
    mkdirSync(open, { mode: 0o755 });
    const socket = join(open, 'socket');
    const engine = await startEngine(s.hostNs, dir, ['--socket', socket, '--socket-mode', '0666']);
    s.defer(async () => {
      await engine.stop();
      remove();
      rmSync(open, { recursive: true, force: true });
    });
    const env = { PIPEWRIGHT_ENGINE_SOCKET: socket, PIPEWRIGHT_ENGINE_DEBUG: '1' };
    const asNobody = await fastAs(s, dir, ['env', '-u', 'NODE_OPTIONS', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], ['--version'], { ...env, NODE_OPTIONS: undefined });
    t.equal(asNobody.code, 0, asNobody.stderr);
    t.equal(asNobody.stdout, `${(await node(s.hostNs, dir, ['--version'])).stdout}`, 'the Node CLI answered, as it would have without an engine');
    t.match(asNobody.stderr, /the engine refused: .*uid 65534 is not root/, 'the client was told why');
    t.match(await engine.waitLog(/refused a request from pid/), /uid 65534/, 'the engine logged the refusal');
    const st = await engine.status();
    t.equal(st.served, 0, 'nothing ran in the engine for nobody');
    t.equal(st.refused, 1, 'one refusal');
    const asRoot = await fast(s.hostNs, dir, ['--version'], env);
    t.equal(asRoot.code, 0);
    t.equal((await engine.status()).served, 1, 'root is served on the same socket');
  }),
);

/** The native client run through a wrapper (setpriv ...) in the scene's host namespace. */
async function fastAs(s: Scene, stateDir: string, wrapper: string[], args: string[], env: Record<string, string | undefined>) {
  const { spawn } = await import('node:child_process');
  const { finish } = await import('../helpers/cli');
  const { envWith, FAST } = await import('../helpers/engine');
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, ...wrapper, FAST, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: envWith(stateDir, env) });
  return finish(child);
}

t.test('no engine, a stale socket, a socket not root\'s: the client runs the Node CLI; a second engine is refused', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => remove());
    const debug = { PIPEWRIGHT_ENGINE_DEBUG: '1' };
    const expected = await node(s.hostNs, dir, ['atach']);
    t.equal(expected.code, 2);

    const missing = await fast(s.hostNs, dir, ['atach'], debug);
    t.match(missing.stderr, /no engine socket at/, 'no socket: said so (debug)');
    t.equal(missing.code, expected.code);
    t.equal(missing.stdout, expected.stdout);
    t.equal(missing.stderr.replace(/^pipewright-fast: .*\n/gm, ''), expected.stderr, 'then the Node CLI ran');

    const first = await startEngine(s.hostNs, dir);
    first.child.kill('SIGKILL');
    await first.exited;
    t.ok(existsSync(first.socket), 'a killed engine leaves its socket behind');
    const stale = await fast(s.hostNs, dir, ['atach'], debug);
    t.match(stale.stderr, /stale socket, or no engine/, 'stale: said so (debug)');
    t.equal(stale.code, expected.code);
    t.equal(stale.stderr.replace(/^pipewright-fast: .*\n/gm, ''), expected.stderr, 'then the Node CLI ran');

    const second = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await second.stop()));
    t.match(second.log(), /removed the stale socket/, 'a new engine removes the stale socket');
    const served = await fast(s.hostNs, dir, ['atach']);
    t.same([served.code, served.stdout, served.stderr], [expected.code, expected.stdout, expected.stderr]);
    t.equal((await second.status()).served, 1, 'and serves');

    const third = await startEngine(s.hostNs, dir).catch((e: Error) => e);
    t.type(third, Error, 'a second engine on the same state directory does not start');
    t.match(String(third), /already runs for the state directory/);

    if (NO_NOBODY) return void t.pass("a socket not root's", { skip: NO_NOBODY });
    chownSync(second.socket, 65534, 65534);
    try {
      const foreign = await fast(s.hostNs, dir, ['atach'], debug);
      t.match(foreign.stderr, /is not root's/, "a socket not root's is not trusted (debug)");
      t.equal(foreign.code, expected.code);
      t.equal((await second.status()).served, 1, 'nothing more ran in the engine');
    } finally {
      chownSync(second.socket, 0, 0);
    }
  }),
);

t.test('a port an agent releases, downs or renames long after the attach returned is put back', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const g = await s.guest({ named: true });
    // Attached by the Node CLI, without the engine: it follows every attachment in the journal.
    const r = await node(s.hostNs, stateDir, ['br0', g.ns.name!, '10.9.1.2/24']);
    t.equal(r.code, 0, r.stderr);
    const port = await followed(engine, g.ns.id);
    const br0 = await s.host.link.get('br0');
    t.equal(port.bridge, br0.index);

    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'nomaster']);
    await until('the port back in br0', async () => ((await s.host.link.get(port.index)).master === br0.index ? true : undefined));
    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'down']);
    await until('the port up again', async () => ((await s.host.link.get(port.index)).up ? true : undefined));
    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'down']);
    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'name', 'agent0']);
    await until('the port renamed back', async () => {
      const l = await s.host.link.get(port.index);
      return l.name === port.name && l.up && l.master === br0.index ? true : undefined;
    });
    const incidents = (await engine.status()).incidents as Array<{ what: string; action: string }>;
    t.ok(incidents.some((i) => /released from its bridge/.test(i.what) && i.action === 'repaired'), 'the release was logged as repaired');
    t.ok(incidents.some((i) => /set down/.test(i.what) && i.action === 'repaired'), 'the down was logged as repaired');
    t.ok(incidents.some((i) => /renamed to agent0/.test(i.what) && i.action === 'renamed-back'), 'the rename was logged as renamed back');
    t.match(engine.log(), /released from its bridge .*: repaired/);
    const d = await node(s.hostNs, stateDir, ['detach', g.ns.name!]);
    t.equal(d.code, 0, d.stderr);
  }),
);

t.test('a guest namespace that dies: its journal entry is removed; a decoy entry stays', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const doomed = await Netns.create({ name: uniqueName('doomed') });
    const decoy = await s.guest({ named: true });
    for (const [ns, ip] of [[doomed, '10.9.2.2/24'], [decoy.ns, '10.9.2.3/24']] as const) {
      const r = await node(s.hostNs, stateDir, ['br0', ns.name!, ip]);
      t.equal(r.code, 0, r.stderr);
    }
    const port = await followed(engine, doomed.id);
    await followed(engine, decoy.ns.id);
    const journal = join(stateDir, 'attachments');
    const entriesOf = (id: string) => readdirSync(journal).filter((f) => f.startsWith(id.replace(':', '-')));
    t.equal(entriesOf(doomed.id).length, 1, 'the doomed guest has its entry');
    const doomedId = doomed.id;
    await doomed.delete();
    await until('the entry removed', async () => (entriesOf(doomedId).length === 0 ? true : undefined));
    t.equal(await s.host.link.find(port.index), null, 'its host end is gone (with the namespace)');
    t.equal(entriesOf(decoy.ns.id).length, 1, "the living guest's entry stays");
    t.ok(((await engine.status()).incidents as Array<{ action: string; index: number }>).some((i) => i.action === 'cleaned' && i.index === port.index), 'logged as cleaned');
    t.same(((await engine.status()).tracked as Array<{ guestNetns: string }>).map((x) => x.guestNetns), [decoy.ns.id], 'only the living one is followed');
    t.equal((await node(s.hostNs, stateDir, ['detach', decoy.ns.name!])).code, 0);
  }),
);

t.test('an engine restart while idle loses nothing: what happened meanwhile is repaired at start', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => remove());
    const g = await s.guest({ named: true });
    const first = await startEngine(s.hostNs, dir);
    const r = await fast(s.hostNs, dir, ['br0', g.ns.name!, '10.9.3.2/24']);
    t.equal(r.code, 0, r.stderr);
    t.equal((await first.status()).served, 1, 'attached by the engine');
    const port = await followed(first, g.ns.id);
    t.equal(await first.stop(), 0, 'SIGTERM: a clean exit');
    t.notOk(existsSync(first.socket), 'its socket is removed');
    t.match(first.log(), /SIGTERM: stopping[\s\S]*stopped/);

    await inNetns(s.hostNs, 'ip', ['link', 'set', port.name, 'nomaster']);
    const second = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await second.stop()));
    const br0 = await s.host.link.get('br0');
    await until('the port put back by the new engine', async () => ((await s.host.link.get(port.index)).master === br0.index ? true : undefined));
    t.same(await followed(second, g.ns.id), port, 'the same attachment is followed');
    const client = await Engine.connect({ socket: second.socket });
    t.same(Object.keys(await client.status()).includes('tracked'), true, 'Engine.connect() answers');
    const d = await fast(s.hostNs, dir, ['detach', g.ns.name!, '--json']);
    t.equal(d.code, 0, d.stderr);
    t.equal(JSON.parse(d.stdout).status, 'detached', 'the attachment was intact and is detached');
  }),
);

t.test('socket activation (as systemd does it): the engine serves on the socket it is handed and leaves it in place', (t) =>
  withScene(t, async (s) => {
    const { spawn } = await import('node:child_process');
    const { MAIN } = await import('../helpers/cli');
    const { envWith } = await import('../helpers/engine');
    const { dir, remove } = privateStateDir();
    mkdirSync(join(dir, 'engine'), { mode: 0o700 });
    const socket = join(dir, 'engine', 'socket');
    // systemd-socket-activate listens, then execs (passing on only the variables named with -E) the engine with LISTEN_FDS/LISTEN_PID at the first connection.
    const child = spawn(...tied('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, 'systemd-socket-activate', '-l', socket, '-E', 'PW_STATE_DIR', process.execPath, MAIN, 'engine']), { stdio: ['ignore', 'ignore', 'pipe'], env: envWith(dir) });
    let log = '';
    child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    s.defer(async () => {
      child.kill('SIGTERM');
      await exited;
      remove();
    });
    await until('the activation socket', async () => (existsSync(socket) ? true : undefined));
    // The first connection starts the engine: let the client wait for that start.
    const r = await fast(s.hostNs, dir, ['--version'], { PIPEWRIGHT_ENGINE_TIMEOUT_MS: '120000' });
    t.equal(r.code, 0, r.stderr);
    t.match(log, /ready on the socket systemd passed/, 'the engine took the socket it was handed');
    const st = await (await Engine.connect({ socket })).status();
    t.equal(st.served, 1, 'the command ran in the engine');
    t.match(st.socket, /socket activation/);
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM: a clean exit');
    t.ok(existsSync(socket), 'the socket is systemd\'s to remove, not the engine\'s');
  }),
);

t.test('an engine stopped under load loses nothing: the command at work finishes, waiting ones run without it', (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => remove());
    const guests = await Promise.all(Array.from({ length: 8 }, () => s.guest({ named: true })));
    const engine = await startEngine(s.hostNs, dir);
    const runs = guests.map((g, i) => fast(s.hostNs, dir, ['br0', g.ns.name!, `10.9.4.${i + 2}/24`]));
    // Stop it once it has taken a command: the rest are waiting, at work, or not yet connected.
    await until('the engine to take a command', async () => ((await engine.status().catch(() => ({ served: 0, queued: 0 }))).queued > 0 || (await engine.status()).served > 0 ? true : undefined));
    t.equal(await engine.stop(), 0, 'a clean exit');
    const results = await Promise.all(runs);
    for (const [i, r] of results.entries()) t.equal(r.code, 0, `attach ${i}: exit 0 (${r.stderr.trim()})`);
    const br0 = await s.host.link.get('br0');
    for (const g of guests) {
      const eth1 = await g.handle.link.get('eth1');
      const hostEnd = await s.host.link.get(eth1.link!);
      t.ok(hostEnd.master === br0.index && hostEnd.up, `${g.ns.name}: attached, port of br0, up`);
    }
    const next = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await next.stop()));
    await until('all 8 followed', async () => (((await next.status()).tracked as unknown[]).length === 8 ? true : undefined));
    t.pass('the next engine follows all 8');
  }),
);

t.test('Engine.connect() for library users: run() gives what the command line gives; another namespace is refused', async (t) => {
  const { dir, remove } = privateStateDir();
  const here = await Netns.current();
  const engine = await startEngine(here, dir);
  const scene = await Netns.create();
  t.teardown(async () => {
    await engine.stop();
    await scene.delete();
    await here.close();
    remove();
  });
  const prev = process.env.PW_STATE_DIR;
  process.env.PW_STATE_DIR = dir; // run() sends this process's variables, as the native client does
  try {
    const e = await Engine.connect({ socket: engine.socket });
    const version = await e.run(['--version']);
    const expected = await node(here, dir, ['--version']);
    t.same(version, { exitCode: 0, stdout: expected.stdout, stderr: '' });
    const typo = await e.run(['atach']);
    const typoNode = await node(here, dir, ['atach']);
    t.same([typo.exitCode, typo.stdout, typo.stderr], [typoNode.code, typoNode.stdout, typoNode.stderr], 'a usage error: exit 2, the same words');
    const plan = await e.run(['batch', '-', '--json'], { stdin: 'nonsense line\n' });
    t.equal(plan.exitCode, 2, 'stdin reaches the command (a plan it refuses)');
    t.match(plan.stdout, /"error"/);
    await t.rejects(e.run(['--version'], { env: { PW_STATE_DIR: '/elsewhere' } }), { name: 'EngineRefusal', message: /another state directory/ });
    await t.rejects(e.run(['engine', 'status']), { name: 'EngineRefusal', message: /own process/ });
    t.equal((await e.status()).served, 3, 'three command lines ran in the engine');
  } finally {
    if (prev === undefined) delete process.env.PW_STATE_DIR;
    else process.env.PW_STATE_DIR = prev;
  }
  // A client in another network namespace: its command would name other links. Refused, nothing run.
  const { spawnSync } = await import('node:child_process');
  const other = spawnSync('nsenter', [`--net=/proc/${process.pid}/fd/${scene.fd}`, process.execPath, '-e', `require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'lib', 'index.js'))}).Engine.connect({ socket: ${JSON.stringify(engine.socket)} }).then((e) => e.run(['--version'])).then(() => console.log('ran'), (err) => console.log(err.name, err.message))`], { encoding: 'utf8', env: { ...process.env, PW_STATE_DIR: dir, NODE_OPTIONS: '' } });
  t.match(other.stdout, /EngineRefusal .*another network namespace/, 'a peer in another network namespace is refused');
});

t.test("a CNI call's output and its exit frame reach the client in one write: one wake-up, not two", (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    const engine = await startEngine(s.hostNs, dir);
    s.defer(async () => {
      await engine.stop();
      remove();
    });
    // A client of the engine's own namespace that reports the frames of each chunk it reads.
    const protocol = join(__dirname, '..', '..', 'dist', 'lib', 'ops', 'engine', 'protocol.js');
    const script = `
      const net = require('node:net');
      const { FrameReader, encodeFrame } = require(${JSON.stringify(protocol)});
      const req = { v: 2, argv: ['cni'], cwd: '/', env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH, PW_STATE_DIR: ${JSON.stringify(dir)} }, stdin: true, deadline: Number(process.hrtime.bigint() / 1000n) + 10000000 };
      const s = net.createConnection(${JSON.stringify(engine.socket)}, () => s.write(Buffer.concat([encodeFrame('q', JSON.stringify(req)), encodeFrame('i', '{"cniVersion":"1.0.0"}')])));
      const r = new FrameReader();
      const chunks = [];
      s.on('data', (d) => chunks.push(r.push(d).map((f) => (f.kind === 'r' ? 'r:' + Buffer.from(f.payload).toString() : f.kind)).join('')));
      s.on('close', () => console.log(JSON.stringify(chunks)));
    `;
    const { spawn } = await import('node:child_process');
    const { finish } = await import('../helpers/cli');
    const out = await finish(spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] }));
    t.equal(out.code, 0, out.stderr);
    const chunks = JSON.parse(out.stdout) as string[];
    t.equal(chunks.join(''), 'agox', `accepted, started, the version, the exit: ${out.stdout}`);
    t.ok(chunks.includes('ox') || chunks.some((c) => c.endsWith('ox')), `the output and the exit in one chunk: ${out.stdout}`);
  }),
);
