// The engine's framing (lib/ops/engine/protocol.ts): frames cut from a byte
// stream however it arrives, and requests checked field by field, with a
// refusal naming the field for anything a client of ours would not send.
import t from 'tap';
import { FRAME, FrameReader, MAX_FRAME, encodeFrame, parseRequest, PROTOCOL_VERSION, PROTOCOL_VERSION_OWN_ENV } from '../../lib/ops/engine/protocol';
import { portProblems, isFight, FIGHT_REPAIRS, FIGHT_WINDOW_MS, carriesOurMark, portsToLookAt } from '../../lib/ops/engine/port-rules';
import { PIPEWRIGHT_GROUP } from '../../lib/ops/ownership/marks';
import { refusal } from '../../lib/cli/engine-session';
import type { Link } from '../../lib';

t.test('frames survive any split of the stream, bytes untouched', async (t) => {
  const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]);
  const stream = Buffer.concat([encodeFrame(FRAME.accepted, '{}'), encodeFrame(FRAME.stdout, payload), encodeFrame(FRAME.started), encodeFrame(FRAME.exit, '{"exitCode":3}')]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const r = new FrameReader();
    const frames = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
    t.same(frames.map((f) => f.kind), ['a', 'o', 'g', 'x'], `cut at ${cut}`);
    t.same(frames[1]!.payload, payload);
  }
});

t.test('a frame longer than the limit, or of length 0, is refused', async (t) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(MAX_FRAME + 1, 0);
  t.throws(() => new FrameReader().push(head), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'frame' });
  t.throws(() => new FrameReader().push(Buffer.alloc(5)), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'frame', value: 0 });
});

t.test('requests: checked field by field', async (t) => {
  const ok = { v: PROTOCOL_VERSION, argv: ['br0', 'g', '10.0.0.2/24'], cwd: '/', env: { PATH: '/bin' }, stdin: false };
  t.same(parseRequest(Buffer.from(JSON.stringify(ok))), ok);
  t.same(parseRequest(Buffer.from(JSON.stringify({ v: 1, control: 'status' }))), { v: 1, control: 'status' });
  // Version 2 (a CNI plugin call: the command reads the request's whole environment) keeps its version.
  const own = { ...ok, v: PROTOCOL_VERSION_OWN_ENV, argv: ['cni'], env: { CNI_COMMAND: 'VERSION' }, stdin: true };
  t.same(parseRequest(Buffer.from(JSON.stringify(own))), own);
  // A deadline (µs on CLOCK_MONOTONIC) is kept as given.
  const timed = { ...ok, deadline: 123_456_789_012 };
  t.same(parseRequest(Buffer.from(JSON.stringify(timed))), timed);
  const bad: Array<[unknown, string]> = [
    [{ ...ok, v: 3 }, 'v'],
    [{ ...ok, v: '1' }, 'v'],
    [{ ...ok, argv: 'br0' }, 'argv'],
    [{ ...ok, argv: [1] }, 'argv'],
    [{ ...ok, cwd: 'relative' }, 'cwd'],
    [{ ...ok, env: { A: 1 } }, 'env'],
    [{ ...ok, deadline: -1 }, 'deadline'],
    [{ ...ok, deadline: 1.5 }, 'deadline'],
    [{ ...ok, deadline: '12' }, 'deadline'],
    [{ v: 1, control: 'shutdown' }, 'control'],
    [[], 'request'],
  ];
  for (const [req, field] of bad) t.throws(() => parseRequest(Buffer.from(JSON.stringify(req))), { code: 'ERR_PW_INVALID_ARGUMENT', field }, JSON.stringify(req));
  t.throws(() => parseRequest(Buffer.from('{')), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'request' });
});

t.test('what the engine leaves to its own process, or to the caller', async (t) => {
  // The caller's state directory is the engine's (this process's), as the native client sends it.
  const env: Record<string, string> = process.env.PW_STATE_DIR ? { PW_STATE_DIR: process.env.PW_STATE_DIR } : {};
  const base = { v: 1, argv: ['--version'], cwd: '/', env, stdin: false };
  t.equal(refusal(base), '');
  t.match(refusal({ ...base, argv: ['engine', 'status'] }), /own process/);
  t.match(refusal({ ...base, argv: ['repro'] }), /own process/);
  t.match(refusal({ ...base, env: { PW_STATE_DIR: '/somewhere/else' } }), /another state directory/);
  t.match(refusal({ ...base, env: { ...env, PW_ADDON_PATH: '/x.node' } }), /PW_ADDON_PATH/);
  // The build the engine runs itself is served (scripts/asan.sh starts engine and callers with the same one).
  const own = process.env.PW_ADDON_PATH;
  process.env.PW_ADDON_PATH = '/y.node';
  try {
    t.equal(refusal({ ...base, env: { ...env, PW_ADDON_PATH: '/y.node' } }), '', "the engine's own build: served");
    t.match(refusal({ ...base, env: { ...env, PW_ADDON_PATH: '/x.node' } }), /another build/, 'another: refused');
  } finally {
    if (own === undefined) delete process.env.PW_ADDON_PATH;
    else process.env.PW_ADDON_PATH = own;
  }
  t.match(refusal({ ...base, cwd: '/no/such/dir/pw' }), /cannot be entered/);
  // The CNI plugin's environment is per call: run here only from a request that carries it whole.
  t.match(refusal({ ...base, argv: ['cni'] }), /protocol 2/);
  t.equal(refusal({ ...base, v: PROTOCOL_VERSION_OWN_ENV, argv: ['cni'], env: { ...env, CNI_COMMAND: 'VERSION' } }), '');
  // A CNI call never enters its caller's working directory (it runs beside): one that cannot be entered is no reason to refuse it.
  t.equal(refusal({ ...base, v: PROTOCOL_VERSION_OWN_ENV, argv: ['cni'], cwd: '/no/such/dir/pw', env: { ...env, CNI_COMMAND: 'VERSION' } }), '', 'a CNI call: its cwd is not looked at');
});

t.test('port problems: released, down, renamed, each said', async (t) => {
  const link = { index: 5, name: 'veth1', up: true, master: 2 } as Link;
  t.equal(portProblems(link, 2, 'veth1'), '');
  t.equal(portProblems({ ...link, master: null }, 2, 'veth1'), 'released from its bridge (master none)');
  t.equal(portProblems({ ...link, up: false, name: 'x' }, 2, 'veth1'), 'set down and renamed to x');
});

t.test('many ports at once, from one read of the links: the changed and the foreign to look at, the gone to clean, the rest left', async (t) => {
  const alias = (i: number) => `pipewright owner=t guest=g${i} if=eth1`;
  const port = (i: number) => ({ index: i, name: `veth${i}`, bridge: 2, alias: alias(i) });
  const link = (i: number, o: Partial<Link> = {}) => ({ index: i, name: `veth${i}`, up: true, master: 2, alias: alias(i), ...o }) as Link;
  const links = new Map<number, Link>([
    [10, link(10)],
    [11, link(11, { master: null })],
    [12, link(12, { name: 'renamed' })],
    [13, link(13, { alias: 'someone else', group: 0 })],
    [14, link(14, { alias: 'pipewright owner=t guest=other if=eth1', group: PIPEWRIGHT_GROUP })],
    [16, link(16, { up: false })],
  ]);
  t.same(portsToLookAt([10, 11, 12, 13, 14, 15, 16].map(port), links), { repairs: [11, 12, 13, 16], gone: [15] });
  t.equal(carriesOurMark(link(14, { alias: 'x', group: PIPEWRIGHT_GROUP }), alias(14)), true, 'our group is mark enough');
  t.equal(carriesOurMark(link(13, { alias: 'x', group: 0 }), alias(13)), false, 'neither alias nor group: not ours');
});

t.test('a port undone as fast as it is put back is a fight: the engine stops after FIGHT_REPAIRS within the window', async (t) => {
  const now = 1_000_000;
  const burst = Array.from({ length: FIGHT_REPAIRS }, (_, i) => now - i * 10).reverse();
  t.equal(isFight(burst, now), true, `${FIGHT_REPAIRS} repairs within the window`);
  t.equal(isFight(burst.slice(1), now), false, 'one fewer is not');
  const spread = Array.from({ length: FIGHT_REPAIRS }, (_, i) => now - i * (FIGHT_WINDOW_MS / 4)).reverse();
  t.equal(isFight(spread, now), false, 'the same number spread over minutes is an agent acting now and then, repaired every time');
});

t.test("a CNI call run by the engine reads the request's environment and stdin, never the process's, and leaves nothing behind", async (t) => {
  const { runRequest } = await import('../../lib/cli/engine-session');
  const stateEnv: Record<string, string> = process.env.PW_STATE_DIR ? { PW_STATE_DIR: process.env.PW_STATE_DIR } : {};
  const call = async (env: Record<string, string>, stdin: string) => {
    let stdout = '';
    const later: Promise<string[]>[] = [];
    const session = { stdout: (s: string) => (stdout += s), stderr: () => undefined, stdin: Buffer.from(stdin), peer: { pid: process.pid, uid: 0, gid: 0 }, signal: new AbortController().signal, afterAnswer: (w: Promise<string[]>) => void later.push(w) };
    const code = await runRequest({ v: PROTOCOL_VERSION_OWN_ENV, argv: ['cni'], cwd: '/', env: { ...stateEnv, ...env }, stdin: true }, session);
    await Promise.all(later);
    return { code, json: JSON.parse(stdout) as Record<string, unknown> };
  };
  t.equal(process.env.CNI_COMMAND, undefined, 'this process has no CNI_COMMAND');
  const version = await call({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
  t.same([version.code, version.json.cniVersion], [0, '0.4.0'], 'VERSION answered from the request');
  t.equal(process.env.CNI_COMMAND, undefined, 'nothing of the request left in process.env');
  const none = await call({}, '{"cniVersion":"1.0.0"}');
  t.same([none.code, none.json.code], [1, 4], 'the next request without CNI_COMMAND does not see the previous one\'s');
  t.match(none.json.msg, /CNI_COMMAND is required/);
  // Two at once, each missing a variable its verb needs: each error names its own verb and variable.
  const conf = '{"cniVersion":"1.0.0","name":"n","type":"pipewright"}';
  const [add, del] = await Promise.all([
    call({ CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/1/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' }, conf),
    call({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c2', CNI_PATH: '/nonexistent' }, conf),
  ]);
  t.match(add.json.msg, /CNI_CONTAINERID is required for ADD/);
  t.match(del.json.msg, /CNI_IFNAME is required for DEL/);
});
