// The built-in host-local and the reference host-local binary on ONE store:
// taking turns (ADD by one, then the other, DEL by the side that did not
// make the lease), they never give an address twice, write the same bytes,
// advance last_reserved_ip the same way and fail alike; started all at once
// (reference processes, pipewright processes, and calls in this process)
// they never collide, the store's flock keeping them apart. A free store is
// read without waiting behind the addon's lock thread; a held one is waited
// for. Files in the store that are not leases are left alone, and symbolic
// links are refused, never followed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runIpam } from '../../lib/ops/cni/ipam';
import { CniError } from '../../lib/ops/cni/errors';
import { lockStateFile } from '../../lib/core/state-files';
import { stateDir } from '../../lib/core/state-dir';
import { REFERENCE_DIR, cniSkipReason, hostLocalConf, leases, netnsPath, pluginDir, runCni } from '../helpers/cni';
import { withScene } from '../helpers/scene';
import { holdFlock, lockId, untilLocks, waitedFor } from '../helpers/proc-locks';
import { rewriteInPlace, settled } from '../helpers/store-files';

const REFERENCE = join(REFERENCE_DIR, 'host-local');
const DIST_BUILTIN = join(__dirname, '..', '..', 'dist', 'lib', 'ops', 'cni', 'host-local', 'index.js');
const skip = cniSkipReason() ?? (!existsSync(REFERENCE)
  ? `the reference plugin ${REFERENCE} is missing (apt-get install containernetworking-plugins)`
  : !existsSync(DIST_BUILTIN)
    ? `${DIST_BUILTIN} is missing: build it first with 'npm run build:ts'`
    : null);
if (skip) t.plan(0, skip);

interface Answer {
  ok: boolean;
  result?: { ips?: Array<{ address: string; gateway?: string }> };
  code?: number;
  /** The failure in the reference's own words (pipewright's 'plugin "host-local" failed (VERB): ' taken off). */
  msg?: string;
}

function store(t: { teardown(f: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'pw-hostlocal-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

const confOf = (dataDir: string, network: string, ipam: Record<string, unknown>) =>
  JSON.stringify({ cniVersion: '1.0.0', name: network, type: 'pipewright', ipam: { type: 'host-local', dataDir, ...ipam } });

const cniEnv = (verb: string, id: string, ifname: string, args?: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  CNI_COMMAND: verb,
  CNI_CONTAINERID: id,
  CNI_IFNAME: ifname,
  CNI_NETNS: '/proc/self/ns/net',
  CNI_PATH: REFERENCE_DIR,
  ...(args ? { CNI_ARGS: args } : {}),
});

function runProcess(exe: string, argv: string[], env: NodeJS.ProcessEnv, stdin: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, argv, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const json = out.trim() ? (JSON.parse(out) as Record<string, unknown>) : {};
      if (code === 0) resolve({ ok: true, result: json as Answer['result'] });
      else resolve({ ok: false, code: json.code as number, msg: String(json.msg).replace(/^plugin "host-local" failed \([A-Z]+\): /, '') });
    });
    child.stdin.end(stdin);
  });
}

/** The reference binary, as a runtime runs it. */
const reference = (verb: string, conf: string, id: string, ifname = 'eth0', args?: string) => runProcess(REFERENCE, [], cniEnv(verb, id, ifname, args), conf);

/** The built-in, in this process, through the entry point the plugin's verbs use. */
async function builtin(verb: 'ADD' | 'DEL' | 'CHECK', conf: string, id: string, ifname = 'eth0', args?: string): Promise<Answer> {
  try {
    const result = (await runIpam('host-local', verb, conf, cniEnv(verb, id, ifname, args), [REFERENCE_DIR])) as Answer['result'];
    return { ok: true, ...(result ? { result } : {}) };
  } catch (e) {
    if (!(e instanceof CniError)) throw e;
    return { ok: false, code: e.code, msg: e.msg.replace(/^plugin "host-local" failed \([A-Z]+\): /, '') };
  }
}

/** The built-in in a process of its own (from dist/): pipewright against pipewright takes the flock too. */
const builtinProcess = (verb: string, conf: string, id: string) =>
  runProcess(
    process.execPath,
    [
      '-e',
      `const { hostLocal } = require(${JSON.stringify(DIST_BUILTIN)}); let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => hostLocal(process.env.CNI_COMMAND, s, process.env).then((a) => process.stdout.write(JSON.stringify(a.result ?? {})), (e) => { process.stdout.write(JSON.stringify({ code: e.code, msg: e.msg })); process.exitCode = 1; }));`,
    ],
    cniEnv(verb, id, 'eth0'),
    conf,
  );

const addressOf = (a: Answer) => a.result?.ips?.[0]?.address.split('/')[0];
const leaseFiles = (dir: string) => readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));

t.test('taking turns on one store: the same order, the same bytes, the same errors', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'altnet', { subnet: '10.77.0.0/28', routes: [{ dst: '0.0.0.0/0' }] });
  const dir = join(root, 'altnet');
  const given: string[] = [];
  // 10.77.0.1 is the gateway: .2 to .14 are given, in order, whichever side asks.
  for (let i = 0; i < 13; i++) {
    const side = i % 2 === 0 ? 'reference' : 'pipewright';
    const a = side === 'reference' ? await reference('ADD', conf, `ctr${i}`) : await builtin('ADD', conf, `ctr${i}`);
    t.ok(a.ok, `ADD ${i} by ${side}: ${a.msg ?? ''}`);
    const ip = addressOf(a)!;
    t.equal(ip, `10.77.0.${i + 2}`, `ADD ${i} by ${side} gives the next address`);
    t.notOk(given.includes(ip), 'never given twice');
    given.push(ip);
    t.equal(readFileSync(join(dir, ip), 'utf8'), `ctr${i}\r\neth0`, `its file holds "ctr${i}\\r\\neth0" (${side})`);
    t.equal(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), ip, `last_reserved_ip.0 says ${ip}, no line break (${side})`);
    if (side === 'pipewright') {
      t.same(a.result, { cniVersion: '1.0.0', ips: [{ address: `${ip}/28`, gateway: '10.77.0.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: {} }, 'the result the reference prints');
      t.equal(statSync(join(dir, ip)).mode & 0o777, 0o600, 'made 0600, as current reference releases make them');
    }
  }
  // Full: both fail alike.
  const fullRef = await reference('ADD', conf, 'late1');
  const fullPw = await builtin('ADD', conf, 'late2');
  t.equal(fullRef.code, 999, 'the reference: code 999');
  t.equal(fullPw.code, fullRef.code, 'the built-in: the same code');
  t.equal(fullPw.msg, fullRef.msg, `the same words: ${fullRef.msg}`);
  t.equal(fullPw.msg, 'failed to allocate for range 0: no IP addresses available in range set: 10.77.0.1-10.77.0.14');
  // An address asked for that is taken: alike.
  const askRef = await reference('ADD', conf, 'ask1', 'eth0', 'IP=10.77.0.5');
  const askPw = await builtin('ADD', conf, 'ask2', 'eth0', 'IP=10.77.0.5');
  t.same([askPw.code, askPw.msg], [askRef.code, askRef.msg], `a taken address asked for: ${askRef.msg}`);
  // The same container twice on one range set: alike.
  const dupRef = await reference('ADD', conf, 'ctr3');
  const dupPw = await builtin('ADD', conf, 'ctr4');
  t.equal(dupRef.code, 999);
  t.match(dupPw.msg, /^failed to allocate for range 0: 10\.77\.0\.6 has been allocated to ctr4, duplicate allocation is not allowed$/, 'the same refusal of a second address');
  // DEL by the side that did not make it.
  t.ok((await builtin('DEL', conf, 'ctr0')).ok, 'pipewright releases what the reference gave');
  t.ok((await reference('DEL', conf, 'ctr1')).ok, 'the reference releases what pipewright gave');
  t.notOk(existsSync(join(dir, '10.77.0.2')) || existsSync(join(dir, '10.77.0.3')), 'both files gone');
  t.ok((await builtin('DEL', conf, 'ctr0')).ok, 'DEL again: nothing to do, no error');
  // CHECK: alike on both sides.
  t.ok((await builtin('CHECK', conf, 'ctr2')).ok, 'the built-in finds the reference\'s lease');
  const goneRef = await reference('CHECK', conf, 'ctr0');
  const gonePw = await builtin('CHECK', conf, 'ctr0');
  t.same([gonePw.code, gonePw.msg], [goneRef.code, goneRef.msg], `CHECK of a released lease fails alike: ${goneRef.msg}`);
  // Round-robin goes on from .14, wrapping, on either side.
  t.equal(addressOf(await reference('ADD', conf, 'again1')), '10.77.0.2', 'the reference wraps to the first free address');
  t.equal(addressOf(await builtin('ADD', conf, 'again2')), '10.77.0.3', 'pipewright goes on after it');
  t.equal(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), '10.77.0.3');
  // A lease of the old format (the container ID alone) is released by the ID.
  t.ok((await builtin('DEL', conf, 'ctr7')).ok);
  writeFileSync(join(dir, '10.77.0.9'), 'oldctr');
  t.ok((await builtin('CHECK', conf, 'oldctr', 'eth1')).ok, 'CHECK finds an old-format lease by the ID');
  t.ok((await builtin('DEL', conf, 'oldctr', 'eth1')).ok);
  t.notOk(existsSync(join(dir, '10.77.0.9')), 'the old-format lease is released');
  t.same(leaseFiles(dir).length, 12, 'every other lease is still there');
  // A shorter address over a longer one (written over in place, then cut): no tail of the old one is left.
  writeFileSync(join(dir, 'last_reserved_ip.0'), '10.77.0.13');
  t.equal(addressOf(await builtin('ADD', conf, 'again3')), '10.77.0.9', 'round-robin from .13 wraps to the one free address');
  t.equal(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), '10.77.0.9', 'last_reserved_ip.0 holds exactly the new address');
});

t.test('two range sets, an address asked for, resolvConf: the same as the reference', async (t) => {
  const root = store(t);
  const resolv = join(root, 'resolv.conf');
  writeFileSync(resolv, 'nameserver 10.0.0.53\nsearch a.example b.example\noptions ndots:2\n');
  const ipam = { ranges: [[{ subnet: '10.80.0.0/24', rangeStart: '10.80.0.10' }], [{ subnet: 'fd00:80::/64' }]], resolvConf: resolv };
  const refConf = confOf(join(root, 'ref'), 'dual', ipam);
  const pwConf = confOf(join(root, 'pw'), 'dual', ipam);
  for (const [n, args] of [undefined, 'IP=10.80.0.77', 'IgnoreUnknown=1;K8S_POD_NAME=x'].entries()) {
    const id = `c-${n}`;
    const r = await reference('ADD', refConf, id, 'eth0', args);
    const p = await builtin('ADD', pwConf, id, 'eth0', args);
    t.ok(r.ok && p.ok, `both succeed with CNI_ARGS ${args ?? '(none)'}`);
    t.same(p.result, r.result, `the same result: ${JSON.stringify(r.result)}`);
  }
  const files = (d: string) => Object.fromEntries(readdirSync(d).filter((f) => f !== 'lock').map((f) => [f, readFileSync(join(d, f), 'utf8')]));
  t.same(files(join(root, 'pw', 'dual')), files(join(root, 'ref', 'dual')), 'the two stores hold the same files, byte for byte');
  t.ok(Object.keys(files(join(root, 'pw', 'dual'))).includes('last_reserved_ip.1'), 'one last_reserved_ip per range set');
  for (const id of ['c-0', 'c-1', 'c-2']) {
    await reference('DEL', refConf, id);
    await builtin('DEL', pwConf, id);
  }
  t.same(files(join(root, 'pw', 'dual')), files(join(root, 'ref', 'dual')), 'and after DEL');
});

t.test('at once: reference processes, pipewright processes and calls in this process never collide', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'busynet', { subnet: '10.78.0.0/24' });
  const calls: Array<Promise<{ id: string; a: Answer }>> = [];
  for (let i = 0; i < 8; i++) {
    calls.push(reference('ADD', conf, `ref${i}`).then((a) => ({ id: `ref${i}`, a })));
    calls.push(builtinProcess('ADD', conf, `pwp${i}`).then((a) => ({ id: `pwp${i}`, a })));
    calls.push(builtin('ADD', conf, `pwi${i}`).then((a) => ({ id: `pwi${i}`, a })));
  }
  const done = await Promise.all(calls);
  for (const { id, a } of done) t.ok(a.ok, `${id} succeeds ${a.msg ?? ''}`);
  const ips = done.map(({ a }) => addressOf(a));
  t.equal(new Set(ips).size, 24, 'twenty-four different addresses');
  const dir = join(root, 'busynet');
  t.equal(leaseFiles(dir).length, 24, 'twenty-four lease files');
  for (const { id, a } of done) t.equal(readFileSync(join(dir, addressOf(a)!), 'utf8'), `${id}\r\neth0`, `${addressOf(a)} is ${id}'s`);
  // And released at once from both sides.
  const dels = done.map(({ id }, i) => (i % 2 ? reference('DEL', conf, id) : builtin('DEL', conf, id)));
  for (const d of await Promise.all(dels)) t.ok(d.ok);
  t.same(leaseFiles(dir), [], 'all released');
});

t.test('what is not a lease is left alone; symbolic links are refused, never followed', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'decoynet', { subnet: '10.79.0.0/29' });
  const dir = join(root, 'decoynet');
  mkdirSync(dir, { recursive: true });
  const outside = join(root, 'outside');
  writeFileSync(outside, 'victim\r\neth0');
  // Decoys: a file that holds a lease's content but is not named by an address, a directory, a link named by an address.
  writeFileSync(join(dir, 'notes.txt'), 'victim\r\neth0');
  mkdirSync(join(dir, '10.79.0.3'));
  symlinkSync(outside, join(dir, '10.79.0.2'));
  const a = await builtin('ADD', conf, 'victim');
  t.equal(addressOf(a), '10.79.0.4', 'names taken by a link and a directory are skipped, as the reference skips them');
  t.ok((await builtin('DEL', conf, 'victim')).ok);
  t.notOk(existsSync(join(dir, '10.79.0.4')), 'the lease is released');
  t.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'victim\r\neth0', 'a file not named by an address stays, whatever it holds');
  t.ok(lstatSync(join(dir, '10.79.0.2')).isSymbolicLink(), 'the link stays');
  t.equal(readFileSync(outside, 'utf8'), 'victim\r\neth0', 'what it points to is untouched');
  t.ok(statSync(join(dir, '10.79.0.3')).isDirectory(), 'the directory stays');
  // A link in last_reserved_ip's place: refused, nothing made, the target untouched.
  const linkNet = join(root, 'lastlink');
  mkdirSync(linkNet);
  symlinkSync(outside, join(linkNet, 'last_reserved_ip.0'));
  const l = await builtin('ADD', confOf(root, 'lastlink', { subnet: '10.79.1.0/29' }), 'c1');
  t.notOk(l.ok, `refused: ${l.msg}`);
  t.match(l.msg, /last_reserved_ip\.0 is not a regular file: refused/);
  t.same(leaseFiles(linkNet), [], 'no lease left behind');
  t.equal(readFileSync(outside, 'utf8'), 'victim\r\neth0', 'the target untouched');

  // A link named lock: refused, not followed (the target is not locked, created or changed).
  const lockNet = join(root, 'locklink');
  mkdirSync(lockNet);
  symlinkSync(join(root, 'lock-target'), join(lockNet, 'lock'));
  const k = await builtin('ADD', confOf(root, 'locklink', { subnet: '10.79.2.0/29' }), 'c1');
  t.notOk(k.ok, `refused: ${k.msg}`);
  t.match(k.msg, /symbolic link/);
  t.notOk(existsSync(join(root, 'lock-target')), 'the link was not followed to create its target');
  t.same(leaseFiles(lockNet), []);

  // The network's directory itself a link: refused.
  mkdirSync(join(root, 'elsewhere'));
  symlinkSync(join(root, 'elsewhere'), join(root, 'dirlink'));
  const d = await builtin('ADD', confOf(root, 'dirlink', { subnet: '10.79.3.0/29' }), 'c1');
  t.notOk(d.ok, `refused: ${d.msg}`);
  t.same(readdirSync(join(root, 'elsewhere')), [], 'nothing made through it');
});

t.test('a configuration the built-in does not take goes to the reference binary, unchanged', async (t) => {
  const root = store(t);
  // Go matches "Subnet" to subnet; the built-in does not guess and hands it on.
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'oddnet', type: 'pipewright', ipam: { type: 'host-local', dataDir: root, Subnet: '10.81.0.0/29' } });
  const a = await builtin('ADD', conf, 'c1');
  t.ok(a.ok, `the reference took it: ${a.msg ?? ''}`);
  t.equal(addressOf(a), '10.81.0.2');
  const missing = await runIpam('host-local', 'ADD', conf, cniEnv('ADD', 'c2', 'eth0'), [join(root, 'no-plugins')]).catch((e: CniError) => e);
  t.ok(missing instanceof CniError, 'without a host-local binary: an error');
  t.match((missing as CniError).msg, /the built-in host-local does not take this configuration \(ipam has "Subnet".*no "host-local" in path/);
  // The same configuration spelled as the reference documents it: no binary needed.
  const plain = JSON.stringify({ cniVersion: '1.0.0', name: 'oddnet', type: 'pipewright', ipam: { type: 'host-local', dataDir: root, subnet: '10.81.0.0/29' } });
  const b = await runIpam('host-local', 'ADD', plain, cniEnv('ADD', 'c3', 'eth0'), [join(root, 'no-plugins')]);
  t.equal((b as Answer['result'])!.ips![0]!.address, '10.81.0.3/29', 'the built-in works without the binary, on the same store');
});

t.test('the plugin allocates in its own process: a host-local in CNI_PATH is not run', (t) =>
  withScene(t, async (s) => {
    const marker = join(tmpdir(), `pw-hostlocal-ran-${process.pid}`);
    // A host-local that would fail, and leaves a mark when it runs at all.
    const p = pluginDir({ 'host-local': `#!/bin/sh\ntouch "${marker}"\necho '{"code":999,"msg":"the binary ran"}'\nexit 1\n` });
    s.defer(async () => {
      p.remove();
      rmSync(marker, { force: true });
    });
    const g = await s.guest();
    const conf = hostLocalConf(p);
    const call = (command: string, id: string) => runCni(s.hostNs, p.dir, { command, containerId: id, netns: netnsPath(g.ns), ifname: 'eth0' }, conf);
    const add = await call('ADD', 'c1');
    t.equal(add.code, 0, `ADD succeeds: ${add.stdout}`);
    t.same(leases(p.ipamDir, 'pwnet'), ['10.88.7.2'], 'the lease, in host-local\'s store');
    // The reference binary on the same store goes on after it.
    const ref = await reference('ADD', JSON.stringify({ ...conf, cniVersion: '1.0.0' }), 'c2');
    t.equal(addressOf(ref), '10.88.7.3', 'the reference binary goes on from the built-in\'s last address');
    const del = await call('DEL', 'c1');
    t.equal(del.code, 0, `DEL succeeds: ${del.stdout}`);
    t.same(leases(p.ipamDir, 'pwnet'), ['10.88.7.3'], 'the plugin\'s lease released, the reference\'s kept');
    t.notOk(existsSync(marker), 'the host-local in CNI_PATH never ran');
    await reference('DEL', JSON.stringify({ ...conf, cniVersion: '1.0.0' }), 'c2');
  }));

t.test('an ADD reads the store at once but changes it only after what it was told to wait for, and not at all if that fails', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'gated', { subnet: '10.82.0.0/29' });
  const dir = join(root, 'gated');
  // Held back: the store is opened and read (its lock taken, its directory
  // made), but no lease is made until the gate opens.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const add = runIpam('host-local', 'ADD', conf, cniEnv('ADD', 'g1', 'eth0'), [REFERENCE_DIR], gate);
  // Waits for a state: the lock file exists once the store was opened.
  while (!existsSync(join(dir, 'lock'))) await new Promise((r) => setImmediate(r));
  t.same(leaseFiles(dir), [], 'the store was opened; no lease yet while the gate is shut');
  open();
  t.equal((await add as Answer['result'])!.ips![0]!.address, '10.82.0.2/29', 'the gate opened: the address is leased');
  t.same(leaseFiles(dir), ['10.82.0.2']);

  // A gate that fails: its reason is the answer, and the store is left as it was.
  const before = readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8');
  const why = new Error('the record could not be written');
  const refused = await runIpam('host-local', 'ADD', conf, cniEnv('ADD', 'g2', 'eth0'), [REFERENCE_DIR], Promise.reject(why)).catch((e: unknown) => e);
  t.equal(refused, why, "the gate's own reason, not an IPAM error");
  t.same(leaseFiles(dir), ['10.82.0.2'], 'no lease was made');
  t.equal(readFileSync(join(dir, 'last_reserved_ip.0'), 'utf8'), before, 'last_reserved_ip is untouched');
  // And the lock was given back: the next ADD goes through.
  const next = await builtin('ADD', conf, 'g3');
  t.equal(addressOf(next), '10.82.0.3', 'the store is usable after it');
});

t.test('a free store is read and changed while the lock thread waits for another lock; a held one is waited for', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'beside', { subnet: '10.83.0.0/29' });
  const dir = join(root, 'beside');
  // The addon's one lock thread, kept waiting: a state file's lock that
  // another process holds, asked for by this one.
  mkdirSync(join(stateDir(), 'test-held'), { recursive: true, mode: 0o700 });
  t.teardown(() => rmSync(join(stateDir(), 'test-held'), { recursive: true, force: true }));
  const heldFile = join(stateDir(), 'test-held', 'held');
  writeFileSync(heldFile, '');
  const holder = await holdFlock(heldFile);
  let granted = false;
  const waiting = lockStateFile('test-held', 'held', false).then((release) => ((granted = true), release));
  await untilLocks(lockId(heldFile), waitedFor, 'this process to wait for the held lock');
  const a = await builtin('ADD', conf, 'b1');
  t.equal(addressOf(a), '10.83.0.2', 'the ADD was answered');
  t.notOk(granted, 'while the lock thread was still waiting');
  await holder.release();
  await (await waiting)();

  // The store's own lock held by another process: the ADD waits for it, then goes on.
  const storeHolder = await holdFlock(join(dir, 'lock'));
  let answered = false;
  const second = builtin('ADD', conf, 'b2').then((x) => ((answered = true), x));
  await untilLocks(lockId(join(dir, 'lock')), waitedFor, "the ADD to wait for the store's lock");
  t.notOk(answered, 'not answered while the store is locked');
  t.same(leaseFiles(dir), ['10.83.0.2'], 'nothing leased while the store is locked');
  await storeHolder.release();
  t.equal(addressOf(await second), '10.83.0.3', 'answered once the lock was given back');
  t.same(leaseFiles(dir), ['10.83.0.2', '10.83.0.3']);
});

t.test('a lease read before is read again when it changed, even in place with its size and modification time kept', async (t) => {
  const root = store(t);
  const conf = confOf(root, 'kept', { subnet: '10.84.0.0/29' });
  const dir = join(root, 'kept');
  t.equal(addressOf(await builtin('ADD', conf, 'k1')), '10.84.0.2');
  t.equal(addressOf(await builtin('ADD', conf, 'k2')), '10.84.0.3');
  // The files' contents are kept once their change time is older than a
  // clock tick or so (native/store_file_cache.h): waited for, then read (and kept).
  const lease = join(dir, '10.84.0.2');
  await settled([lease]);
  t.ok((await builtin('CHECK', conf, 'k1')).ok, 'k1 holds 10.84.0.2');
  // Rewritten in place by someone else: the same inode, the same size, the
  // modification time put back; only the change time tells.
  const before = statSync(lease, { bigint: true });
  rewriteInPlace(lease, 'k3\r\neth0', root);
  const after = statSync(lease, { bigint: true });
  t.same([after.ino, after.size, after.mtimeNs], [before.ino, before.size, before.mtimeNs], 'the same inode, size and modification time');
  t.notOk((await builtin('CHECK', conf, 'k1')).ok, 'k1 no longer holds an address');
  const dup = await builtin('ADD', conf, 'k3');
  t.match(dup.msg, /10\.84\.0\.2 has been allocated to k3, duplicate allocation is not allowed/, 'k3 holds 10.84.0.2: ADD refuses a second, as the reference does');
  // Replaced (removed, made again): read afresh too.
  rmSync(join(dir, '10.84.0.3'));
  writeFileSync(join(dir, '10.84.0.3'), 'k4\r\neth0');
  t.ok((await builtin('CHECK', conf, 'k4')).ok, 'the file made again is read');
  t.notOk((await builtin('CHECK', conf, 'k2')).ok, 'and what it held before is gone');
  const ref = await reference('ADD', conf, 'k3');
  t.same([ref.ok, ref.msg], [dup.ok, dup.msg], 'the reference plugin says the same');
});
