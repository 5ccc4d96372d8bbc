// The engine's socket as the addon serves it (lib/core/engine-socket.ts,
// native/engine_listener.cc), below the engine's protocol: who connected, as
// the kernel says; bytes in and out in order; a write the socket cannot take
// at once finishing later, and said so; an end that sends everything first;
// a peer's leaving noticed; accepting paused, not spun, while the process
// has no fd to spare; no fd left open by anything here, by an engine whose
// clients leave at any point of a request, nor by an engine whose start
// fails after its socket was made.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineSocket, type Connection } from '../../lib/core/engine-socket';
import { EngineServer } from '../../lib/ops/engine/server';
import { withScene } from '../helpers/scene';
import { sceneEngine, fast, until } from '../helpers/engine';
import { finish } from '../helpers/cli';

const openFds = () => readdirSync('/proc/self/fd').length;
const nsId = (kind: string) => {
  const st = statSync(`/proc/self/ns/${kind}`);
  return `${st.dev}:${st.ino}`;
};

/** A listening EngineSocket in a directory of its own, its connections handed out in order. */
function listen(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-socket-'));
  const path = join(dir, 'engine.sock');
  const waiting: ((c: Connection) => void)[] = [];
  const arrived: Connection[] = [];
  const errors: string[] = [];
  const sock = EngineSocket.bind(
    path,
    (c) => {
      const w = waiting.shift();
      if (w) w(c);
      else arrived.push(c);
    },
    (m) => errors.push(m),
  );
  t.teardown(() => {
    sock.destroyAll();
    sock.stopListening();
    rmSync(dir, { recursive: true, force: true });
  });
  const next = () => (arrived.length ? Promise.resolve(arrived.shift()!) : new Promise<Connection>((r) => waiting.push(r)));
  return { sock, path, next, errors };
}

function dial(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything the peer receives until the server closes. */
function readAll(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d) => parts.push(d));
  return new Promise((resolve) => s.once('end', () => resolve(Buffer.concat(parts))));
}

t.test('a connection: the peer as the kernel knows it, its bytes, an answer sent in full before the close', async (t) => {
  const fdsBefore = openFds();
  const { path, next } = listen(t);
  t.equal(statSync(path).mode & 0o777, 0o600, "the socket file is made with no access for group or others (the server then sets the mode it was told)");
  const client = await dial(path);
  const conn = await next();
  t.same(conn.peer, { pid: process.pid, uid: process.getuid!(), gid: process.getgid!(), net: nsId('net'), mnt: nsId('mnt'), time: nsId('time') }, 'pid, uid, gid and namespaces: this process');
  const got: Buffer[] = [];
  const request = new Promise<void>((resolve) =>
    conn.onData((d) => {
      got.push(d);
      if (Buffer.concat(got).length === 5) resolve();
    }),
  );
  client.write('hello');
  await request;
  t.equal(Buffer.concat(got).toString(), 'hello', 'the bytes the peer sent');
  const answer = readAll(client);
  let written: boolean | undefined;
  conn.write(Buffer.from('one,'), (ok) => (written = ok));
  t.equal(written, true, 'a small write is in the socket at once, and said so');
  conn.cork();
  conn.write(Buffer.from('two,'));
  conn.write(Buffer.from('three,'));
  conn.end(Buffer.from('end'));
  t.equal(conn.destroyed, true, 'closed on this side once end() is asked');
  t.equal(conn.writable, false, 'nothing more is written after end()');
  t.equal((await answer).toString(), 'one,two,three,end', 'held writes, then the last, all before the close, in order');
  client.destroy();
  t.equal(openFds(), fdsBefore + 1, 'the connection left no fd here (only the listening socket is open)');
});

t.test('a write the socket cannot take at once goes on when the peer reads, and end() waits for it', async (t) => {
  const { path, next } = listen(t);
  const client = await dial(path);
  const conn = await next();
  client.pause();
  const big = Buffer.alloc(8 << 20, 0x61);
  let written: boolean | undefined;
  const done = new Promise<boolean>((resolve) =>
    conn.write(big, (ok) => {
      written = ok;
      resolve(ok);
    }),
  );
  t.equal(written, undefined, 'not in the socket yet: the peer reads nothing');
  conn.end(Buffer.from('!'));
  const answer = readAll(client);
  client.resume();
  t.equal(await done, true, 'said written once the peer read enough');
  const all = await answer;
  t.equal(all.length, big.length + 1, 'every byte, then the end');
  t.equal(all[all.length - 1], 0x21, 'the last write came last');
  client.destroy();
});

t.test("a peer that leaves is noticed; what waited for it is told it was not written; destroy() drops what waits", async (t) => {
  const fdsBefore = openFds();
  const { path, next } = listen(t);
  const client = await dial(path);
  const conn = await next();
  const gone = new Promise<void>((resolve) => conn.onGone(resolve));
  client.destroy();
  await gone;
  t.pass('onGone called when the peer closed');
  let late: boolean | undefined;
  await new Promise<void>((resolve) =>
    conn.write(Buffer.from('late'), (ok) => {
      late = ok;
      resolve();
    }),
  );
  t.equal(late, false, 'a write to a peer that left is not in its socket');
  conn.destroy();
  t.equal(conn.destroyed, true);

  const client2 = await dial(path);
  const conn2 = await next();
  client2.pause();
  let dropped: boolean | undefined;
  conn2.write(Buffer.alloc(8 << 20), (ok) => (dropped = ok));
  const closed = readAll(client2);
  conn2.destroy();
  t.equal(dropped, false, 'destroy() tells a waiting write it will not be written');
  client2.resume();
  t.ok((await closed).length < 8 << 20, 'the peer sees the close without the bytes that waited');
  client2.destroy();
  t.equal(openFds(), fdsBefore + 1, 'no fd left but the listening socket');
});

t.test('stopListening(): no new connection is taken, those open go on until destroyAll()', async (t) => {
  const fdsBefore = openFds();
  const { sock, path, next } = listen(t);
  const client = await dial(path);
  const conn = await next();
  sock.stopListening();
  await t.rejects(dial(path), { code: 'ECONNREFUSED' }, 'the path no longer takes connections');
  const answer = readAll(client);
  conn.write(Buffer.from('still here'));
  const ended = new Promise<void>((resolve) => conn.onGone(resolve));
  sock.destroyAll();
  await ended;
  t.equal((await answer).toString(), 'still here', 'the open connection was served, then closed');
  client.destroy();
  t.equal(openFds(), fdsBefore, 'nothing of the socket is left open');
});

t.test('the engine keeps no connection: served, refused, and clients that leave before or after their request leave its fds as they were', (t) =>
  withScene(t, async (s) => {
    const { engine, stateDir } = await sceneEngine(s);
    const fdsOf = () => readdirSync(`/proc/${engine.child.pid}/fd`).length;
    const protocol = join(__dirname, '..', '..', 'dist', 'lib', 'ops', 'engine', 'protocol.js');
    // Clients of the engine's own namespace, each in its own way: one that connects and leaves at once, one that sends
    // half a frame and leaves, one that sends a whole request (a long deadline) and leaves once it is accepted.
    const script = `
      const net = require('node:net');
      const { encodeFrame } = require(${JSON.stringify(protocol)});
      const [how, socket] = process.argv.slice(1);
      const req = { v: 2, argv: ['cni'], cwd: '/', env: { CNI_COMMAND: 'VERSION', PATH: process.env.PATH, PW_STATE_DIR: ${JSON.stringify(stateDir)} }, stdin: true, deadline: Number(process.hrtime.bigint() / 1000n) + 60000000 };
      const s = net.createConnection(socket, () => {
        if (how === 'leave') return s.destroy();
        if (how === 'half') return s.end(encodeFrame('q', JSON.stringify(req)).subarray(0, 7));
        s.write(Buffer.concat([encodeFrame('q', JSON.stringify(req)), encodeFrame('i', '{"cniVersion":"1.0.0"}')]));
        s.once('data', () => s.destroy());
      });
      s.on('error', () => {});
    `;
    const client = (how: string) => finish(spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, process.execPath, '-e', script, how, engine.socket], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const round = async () => {
      for (const how of ['leave', 'half', 'after-accept']) t.equal((await client(how)).code, 0, how);
      t.equal((await fast(s.hostNs, stateDir, ['--version'], {})).code, 0, 'served');
      const refused = await fast(s.hostNs, stateDir, ['engine', 'status'], {});
      t.equal(refused.code, 0, `refused by the engine ('engine' runs in its own process), run without it: ${refused.stderr}`);
    };
    const fdList = () => readdirSync(`/proc/${engine.child.pid}/fd`).map((fd) => { try { return `${fd} -> ${readlinkSync(`/proc/${engine.child.pid}/fd/${fd}`)}`; } catch { return fd; } });
    // One round first, so that what a first request of each kind opens for good (the addon's threads and sockets, the log) is counted before.
    await round();
    const before = fdsOf();
    const listBefore = fdList();
    for (let i = 0; i < 4; i++) await round();
    const after = await until('the engine to close what its clients left', async () => (fdsOf() === before ? before : undefined)).catch(() => fdsOf());
    t.equal(after, before, `${before} fds before 20 more connections, as many after`, { before: listBefore, after: fdList() });
  }),
);

t.test('out of fds, the socket stops accepting (it does not spin), retries, and takes every waiting client once an fd is free', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-emfile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'engine.sock');
  const engineSocket = join(__dirname, '..', '..', 'dist', 'lib', 'core', 'engine-socket.js');
  // A process of its own, since its fd limit is lowered: it reports each connection, each error (with its own
  // clock's time) and closes a connection when its peer leaves.
  const script = `
    const { EngineSocket } = require(${JSON.stringify(engineSocket)});
    const say = (line) => process.stdout.write(line + '\\n');
    EngineSocket.bind(process.argv[1], (c) => {
      say('connection ' + c.id + ' ' + (c.peer.nsError || ''));
      c.onData(() => {});
      c.onGone(() => c.destroy());
    }, (m) => say('error ' + (Number(process.hrtime.bigint() / 1000n) / 1000) + ' ' + m));
    say('ready');
  `;
  const child = spawn(process.execPath, ['-e', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise((resolve) => child.once('close', resolve));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await closed;
  });
  const lines: string[] = [];
  let rest = '';
  child.stdout.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  const seen = (what: string, test: (l: string[]) => boolean) => until(what, async () => (test(lines) ? true : undefined));
  const connections = () => lines.filter((l) => l.startsWith('connection ')).length;
  const errors = () => lines.filter((l) => l.startsWith('error '));
  await seen('the socket to listen', (l) => l.includes('ready'));

  // Its soft fd limit set so that exactly one more fd can be opened (fds are taken lowest first).
  const open = readdirSync(`/proc/${child.pid}/fd`).map(Number).sort((a, b) => a - b);
  let limit = 0;
  while (limit - open.filter((fd) => fd < limit).length < 1) limit++;
  const set = spawnSync('prlimit', [`--pid=${child.pid}`, `--nofile=${limit}:`], { encoding: 'utf8' });
  t.equal(set.status, 0, `prlimit: ${set.stderr}`);

  const clients = await Promise.all([dial(path), dial(path), dial(path)]);
  t.teardown(() => clients.forEach((c) => c.destroy()));
  await seen('accept to fail for want of an fd, twice', () => errors().length >= 3);
  t.equal(connections(), 1, 'one client taken with the one fd there was');
  t.match(lines.find((l) => l.startsWith('connection ')), /open \/proc\/\d+\/ns: Too many open files/, "its namespaces could not be read, and the reason is said (not taken for a peer that left)");
  t.match(errors()[0], /accept: Too many open files/, 'the failure reported');
  const at = errors().slice(0, 3).map((l) => Number(l.split(' ')[1]));
  // Spinning on the readable socket would report failures microseconds apart; paused, the next try waits for its
  // timer (100 ms, counted from the loop's cached clock: the bound leaves room for a process kept off the CPU).
  t.ok(at[1] - at[0] >= 20 && at[2] - at[1] >= 20, `tries ${(at[1] - at[0]).toFixed(1)} and ${(at[2] - at[1]).toFixed(1)} ms apart`);

  clients[0].destroy();
  await seen('the second client to be taken once the first left', () => connections() === 2);
  clients[1].destroy();
  await seen('the third client to be taken', () => connections() === 3);
  t.pass('every waiting client was taken, each as soon as an fd was free');
});

t.test('an engine whose start fails after its socket was made removes the socket file and closes the socket', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-engine-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'engine.sock');
  const logged: string[] = [];
  const options = { socketPath: path, refuse: () => '', run: async () => 0, status: () => ({}), log: (l: string) => void logged.push(l) };
  const fdsBefore = openFds();
  // A mode chmod refuses: the failure comes after the socket was bound.
  await t.rejects(EngineServer.start({ ...options, socketMode: -1 }), { code: 'ERR_OUT_OF_RANGE' }, 'the start fails');
  t.notOk(existsSync(path), 'the socket file made is removed');
  t.equal(openFds(), fdsBefore, 'the socket is closed');
  const server = await EngineServer.start(options);
  t.notMatch(logged.join('\n'), /stale socket/, 'the next start finds nothing left to judge');
  await t.rejects(EngineServer.start(options), /an engine already answers/, 'a second start over a live engine is refused');
  t.ok(existsSync(path), '... and leaves the live engine\'s socket in place');
  await server.stop();
  t.notOk(existsSync(path), 'a stop removes the socket file');
  t.equal(openFds(), fdsBefore, 'and nothing is left open');
});
