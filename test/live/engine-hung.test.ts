// An engine that stops answering (SIGSTOP here; swapped out, wedged, in
// the field) must not leave its clients waiting, and must never run a
// command its client already ran itself: the client gives up waiting for
// 'accepted', says so and runs the Node CLI; the engine, woken later, finds
// the request without the client's 'go' and drops it (protocol.ts). A raw
// client that leaves after 'accepted' without 'go' is dropped the same way.
// A request with a deadline needs no 'go': the engine runs it only if it
// accepted it before the deadline, by the clock both read.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { withScene, type Scene } from '../helpers/scene';
import { sceneEngine, fast, node, tied, until } from '../helpers/engine';

/** The host ends enslaved to br0 in the scene's host namespace. */
async function portsOfBr0(s: Scene): Promise<string[]> {
  const links = await s.host.link.list();
  const br = links.find((l) => l.name === 'br0');
  return br ? links.filter((l) => l.master === br.index).map((l) => l.name) : [];
}

t.test('a stopped engine: the client says so after its timeout and runs the command itself; the engine, woken, does not run it again', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const g = await s.guest({ named: true });
    const served = (await engine.status()).served as number;

    engine.child.kill('SIGSTOP');
    const r = await fast(s.hostNs, stateDir, ['br0', g.ns.name!, '10.9.2.2/24'], { PIPEWRIGHT_ENGINE_TIMEOUT_MS: '300' });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /the engine on .*socket did not answer within 300 ms; running the command without it/, 'a clear message, without debug');
    t.equal((await portsOfBr0(s)).length, 1, 'the Node CLI made the one attachment');

    engine.child.kill('SIGCONT');
    // Woken, the engine finds the client gone: the peer's namespaces cannot be read any more, or no 'go' came.
    await engine.waitLog(/refused a request from pid \d+: (the peer went away|cannot identify the peer|the client left without confirming|the request was accepted after the deadline it gave)/);
    t.equal((await engine.status()).served, served, 'the engine ran nothing of it');
    t.equal((await portsOfBr0(s)).length, 1, 'still one attachment');

    const again = await fast(s.hostNs, stateDir, ['detach', g.ns.name!]);
    t.equal(again.code, 0, again.stderr);
    t.equal((await engine.status()).served, served + 1, 'the woken engine serves the next command');
    t.same(await portsOfBr0(s), [], 'and the detach it ran removed the port');
  }),
);

/** A client speaking the wire format by hand: sends the request, waits for 'accepted', leaves without 'go'. */
const LEAVER = `
const { connect } = require('node:net');
const [socketPath, argvJson] = process.argv.slice(1);
const s = connect(socketPath);
const frame = (kind, text) => { const b = Buffer.from(text); const h = Buffer.alloc(5); h.writeUInt32BE(b.length + 1); h.write(kind, 4, 'latin1'); return Buffer.concat([h, b]); };
s.on('connect', () => s.write(frame('q', JSON.stringify({ v: 1, argv: JSON.parse(argvJson), cwd: '/', env: { PW_STATE_DIR: process.env.PW_STATE_DIR } }))));
let got = Buffer.alloc(0);
s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 5 && got[4] === 0x61) { console.log('accepted'); s.destroy(); } });
s.on('close', () => process.exit(0));
`;

t.test("a client that leaves after 'accepted' without 'go': the engine drops its command", (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const g = await s.guest({ named: true });
    const served = (await engine.status()).served as number;
    const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, process.execPath, '-e', LEAVER, engine.socket, JSON.stringify(['br0', g.ns.name!, '10.9.3.2/24'])], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, PW_STATE_DIR: stateDir },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    t.equal(out.trim(), 'accepted', 'the engine accepted the request');
    await engine.waitLog(/refused a request from pid \d+: the client left without confirming/);
    t.equal((await engine.status()).served, served, 'and ran nothing');
    t.same(await portsOfBr0(s), [], 'no port was made');
    t.notOk((await s.host.link.list()).some((l) => l.name === 'br0'), 'not even the bridge');

    // The same command line through the native client, which says 'go', is run.
    const r = await fast(s.hostNs, stateDir, ['br0', g.ns.name!, '10.9.3.2/24']);
    t.equal(r.code, 0, r.stderr);
    t.equal((await engine.status()).served, served + 1);
    t.equal((await portsOfBr0(s)).length, 1);
    const d = await node(s.hostNs, stateDir, ['detach', g.ns.name!]);
    t.equal(d.code, 0, d.stderr);
  }),
);

/** A client speaking the wire format by hand, with a deadline and no 'go': prints the kinds of the frames it gets, until the connection ends. */
const TIMED = `
const { connect } = require('node:net');
const [socketPath, argvJson, deadlineJs] = process.argv.slice(1);
const now = Number(process.hrtime.bigint() / 1000n);
const s = connect(socketPath);
const frame = (kind, text) => { const b = Buffer.from(text); const h = Buffer.alloc(5); h.writeUInt32BE(b.length + 1); h.write(kind, 4, 'latin1'); return Buffer.concat([h, b]); };
s.on('connect', () => s.write(frame('q', JSON.stringify({ v: 1, argv: JSON.parse(argvJson), cwd: '/', env: { PW_STATE_DIR: process.env.PW_STATE_DIR }, deadline: eval(deadlineJs) }))));
let got = Buffer.alloc(0); const kinds = [];
s.on('data', (d) => { got = Buffer.concat([got, d]); while (got.length >= 5 && got.length >= 4 + got.readUInt32BE(0)) { const n = got.readUInt32BE(0); kinds.push(String.fromCharCode(got[4]) + (got[4] === 0x61 ? got.subarray(5, 4 + n).toString() : '')); got = got.subarray(4 + n); } });
s.on('close', () => { console.log(JSON.stringify(kinds)); process.exit(0); });
`;

function timedClient(s: Scene, socket: string, stateDir: string, argv: string[], deadlineJs: string): Promise<string[]> {
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, process.execPath, '-e', TIMED, socket, JSON.stringify(argv), deadlineJs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PW_STATE_DIR: stateDir },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(JSON.parse(out.trim() || '[]') as string[])));
}

t.test("a request with a deadline: run without 'go' when accepted in time, refused when accepted after it", (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const g = await s.guest({ named: true });
    const served = (await engine.status()).served as number;

    // A deadline already past when the engine reads its clock: 'a' (committed), then a refusal, and nothing run.
    const late = await timedClient(s, engine.socket, stateDir, ['br0', g.ns.name!, '10.9.4.2/24'], 'now');
    t.match(late[0], /^a.*"committed":true/, 'accepted, saying it decides by the clock');
    t.equal(late[1], 'r', 'then refused');
    await engine.waitLog(/refused a request from pid \d+: the request was accepted after the deadline it gave/);
    t.equal((await engine.status()).served, served, 'and nothing was run');
    t.same(await portsOfBr0(s), [], 'no port was made');

    // A minute ahead: run to its end with no 'go' sent.
    const inTime = await timedClient(s, engine.socket, stateDir, ['br0', g.ns.name!, '10.9.4.2/24'], 'now + 60e6');
    t.match(inTime[0], /^a.*"committed":true/);
    t.same(inTime.slice(1), ['g', 'x'], 'started and finished without a go');
    t.equal((await engine.status()).served, served + 1);
    t.equal((await portsOfBr0(s)).length, 1, 'the attach was made');

    // The native client with no time to wait: the engine, reading the same clock, finds the deadline gone and
    // refuses; the client runs the Node CLI itself, and the command is done once.
    const d = await fast(s.hostNs, stateDir, ['detach', g.ns.name!], { PIPEWRIGHT_ENGINE_TIMEOUT_MS: '0', PIPEWRIGHT_ENGINE_DEBUG: '1' });
    t.equal(d.code, 0, d.stderr);
    // Which it sees first depends on the scheduler: no answer at its one look, or the engine's 'a' and refusal already there.
    t.match(d.stderr, /did not answer within 0 ms; running the command without it|the engine refused: .*accepted after the deadline/);
    await engine.waitLog(/refused a request from pid \d+: (the request was accepted after the deadline it gave|the peer went away|cannot identify the peer)/);
    t.equal((await engine.status()).served, served + 1, 'the engine ran none of it');
    t.same(await portsOfBr0(s), [], 'the Node CLI detached it');
  }),
);

t.test('an engine a test starts dies with the test, even one killed for overrunning (no engine left holding a sandbox)', async (t) => {
  // A stand-in for a test process: it starts a long-lived child the way the helpers start engines, says its pid, and is killed.
  const [cmd, args] = tied('sleep', ['600']);
  const script = `const c = require('node:child_process').spawn(${JSON.stringify(cmd)}, ${JSON.stringify(args)}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
  t.ok(existsSync(`/proc/${pid}`), 'the child runs');
  // setpriv sets the death signal and then execs; the pid is setpriv's until that exec (and its cmdline reads empty
  // while the exec is under way), so wait for the state rather than read once.
  const cmdline = await until('setpriv to exec the command', async () => {
    const c = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return c === '' || c.startsWith('setpriv\x00') ? undefined : c;
  });
  t.match(cmdline, /^sleep\x00600/, 'as itself (setpriv exec\'d it: the pid is the command\'s)');
  parent.kill('SIGKILL');
  await until('the child to die with its parent', async () => (existsSync(`/proc/${pid}`) && !/^Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '') ? undefined : true));
  t.pass('it died with its parent');
});
