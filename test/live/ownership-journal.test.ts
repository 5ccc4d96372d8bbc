// The journal and the lock on their own: entries are written atomically in a
// directory of mode 0700 that must be ours and is never reached through a
// symbolic link; shared locks are held together, an exclusive one waits for
// them (on the addon's lock thread: the event loop keeps running) and new
// shared ones wait behind it; a lock goes with its holder's death.
import t from 'tap';
import { mkdtempSync, mkdirSync, symlinkSync, statSync, readdirSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { attach, Netns } from '../../lib';
import { AttachmentRecord, guestReachable, lockNamespace, netnsCookie, readEntries, removeEntry, rereadEntry, journalPath, JOURNAL_DIR } from '../../lib/ops/ownership';
import type { AttachmentDraft } from '../../lib/ops/ownership';
import { withScene } from '../helpers/scene';

// A state directory of this file's own (stateDir() reads PW_STATE_DIR at each call).
const root = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'journal-test-'));
process.env.PW_STATE_DIR = root;
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const draft = (guestNetns: string, guestIf = 'eth1'): AttachmentDraft => ({
  owner: 'test', hostNetns: '1:1', guestNetns, guestIf, mode: 'bridge', hostIf: 'br0', createsBridge: false, hostEnd: 'vx', group: 0x7077,
  alias: `pipewright owner=test guest=${guestNetns} if=${guestIf}`, guest: { kind: 'netns', label: 'x' },
  spec: { hostIf: 'br0', guestIf, directPhys: false, arp: true, owner: 'test', group: 0x7077 },
});

/** Resolves once the promise settles, or with 'pending' after the event loop has turned a few times. */
async function settledSoon<T>(p: Promise<T>, turns = 50): Promise<T | 'pending'> {
  let done = false;
  let value: T | undefined;
  void p.then((v) => {
    done = true;
    value = v;
  });
  for (let i = 0; i < turns && !done; i++) await new Promise((r) => setTimeout(r, 2));
  return done ? (value as T) : 'pending';
}

t.test('an entry: written whole, in a 0700 directory, complete after, gone on failure without leftovers', async (t) => {
  const rec = await AttachmentRecord.begin(draft('9:100'));
  t.equal(statSync(journalPath()).mode & 0o777, 0o700, 'the journal directory is 0700');
  const [e] = await readEntries(rec.file);
  t.same(await rereadEntry(rec.file), e, 'read again by its name: the same entry, as written');
  t.match(e?.entry, { state: 'in-progress', owner: 'test', guestNetns: '9:100', process: { pid: process.pid } }, 'written in progress, with our pid');
  t.match(e!.entry.process.startTime, /^\d+$/, "and this process's start time");
  t.equal(readdirSync(journalPath()).filter((n) => n.endsWith('.tmp')).length, 0, 'no temporary file left');
  t.equal(await rec.settled({ hostEndIndex: 42 }), null);
  t.match((await readEntries(rec.file))[0]?.entry, { state: 'complete', hostEndIndex: 42 }, 'complete, with what was created');

  const failing = await AttachmentRecord.begin(draft('9:101'));
  await failing.failed([]);
  t.same(await readEntries(failing.file), [], 'a failure that left nothing removes its entry');
  const leaving = await AttachmentRecord.begin(draft('9:102'));
  await leaving.failed(['delete vx (failed: EBUSY)']);
  t.match((await readEntries(leaving.file))[0]?.entry, { state: 'failed', leftBehind: ['delete vx (failed: EBUSY)'] }, 'one that left something stays, failed, for gc');
  for (const f of [rec.file, leaving.file]) await removeEntry(f);
});

t.test('never through a symbolic link, never in a directory someone else can write', async (t) => {
  const elsewhere = mkdtempSync(join(root, 'elsewhere-'));
  const other = join(root, 'other-state');
  mkdirSync(other, { mode: 0o700 });
  symlinkSync(elsewhere, join(other, JOURNAL_DIR));
  const real = await AttachmentRecord.begin(draft('9:199'));
  const realEntry = (await rereadEntry(real.file))!.raw;
  await removeEntry(real.file);
  process.env.PW_STATE_DIR = other;
  try {
    await t.rejects(AttachmentRecord.begin(draft('9:200')), { code: 'ELOOP', message: /symbolic link: refused/ }, 'a symlinked journal directory is refused');
    writeFileSync(join(elsewhere, 'lure.json'), JSON.stringify({ state: 'complete' }));
    await t.rejects(rereadEntry('lure.json'), { code: 'ELOOP' }, 'and never read through, not even one entry by its name');
    rmSync(join(elsewhere, 'lure.json'));
    t.same(readdirSync(elsewhere), [], 'nothing was written where it points');
    rmSync(join(other, JOURNAL_DIR));
    mkdirSync(join(other, JOURNAL_DIR), { mode: 0o777 });
    chmodSync(join(other, JOURNAL_DIR), 0o777);
    await t.rejects(AttachmentRecord.begin(draft('9:201')), { code: 'EPERM', message: /writable by group or others/ }, 'a world-writable one too');
    rmSync(join(other, JOURNAL_DIR), { recursive: true });
    mkdirSync(join(other, JOURNAL_DIR), { mode: 0o700 });
    const planted = join(other, JOURNAL_DIR, 'planted.json');
    symlinkSync('/etc/hostname', planted);
    writeFileSync(join(other, JOURNAL_DIR, 'junk.json'), 'not json');
    t.same(await readEntries(), [], 'a symlink or a file that is not an entry is never read as one');
    t.equal(await rereadEntry('planted.json'), null, 'nor read again by its name');
    writeFileSync(join(elsewhere, 'whole.json'), realEntry);
    symlinkSync(join(elsewhere, 'whole.json'), join(other, JOURNAL_DIR, 'linked.json'));
    t.equal(await rereadEntry('linked.json'), null, 'a symlink to a whole entry is not read as one either');
    execFileSync('mkfifo', [join(other, JOURNAL_DIR, 'fifo.json')]);
    t.equal(await rereadEntry('fifo.json'), null, 'a FIFO by its name is skipped, not waited on');
    t.equal(await rereadEntry('absent.json'), null, 'an entry that is not there is null');
    await t.rejects(rereadEntry('../escape.json'), { code: 'EINVAL' }, 'a name with a slash is refused');
  } finally {
    process.env.PW_STATE_DIR = root;
  }
});

t.test('shared locks together; an exclusive one waits for them off the event loop, and new shared ones wait behind it', async (t) => {
  const ns = '7:700';
  const a = await lockNamespace(ns, 'shared');
  const b = await lockNamespace(ns, 'shared');
  t.pass('two shared holders at once');
  const ex = lockNamespace(ns, 'exclusive');
  t.equal(await settledSoon(ex), 'pending', 'the exclusive one waits (and timers kept firing meanwhile)');
  const late = lockNamespace(ns, 'shared');
  await a();
  t.equal(await settledSoon(ex), 'pending', 'still waiting for the second holder');
  await b();
  const exRelease = await ex;
  t.equal(await settledSoon(late), 'pending', 'a shared request made after the exclusive one waits for it');
  await exRelease();
  await (await late)();
});

t.test("a lock goes with its holder's death", async (t) => {
  const ns = '7:701';
  // A child process takes the lock shared and is killed while holding it.
  const child = spawn(process.execPath, ['-e', `
    process.env.PW_STATE_DIR = ${JSON.stringify(root)};
    require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'lib', 'ops', 'ownership'))}).lockNamespace('${ns}', 'shared').then(() => process.stdout.write('held\\n'));
    setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.on('data', (b: Buffer) => b.toString().includes('held') && resolve()));
  const ex = lockNamespace(ns, 'exclusive');
  t.equal(await settledSoon(ex), 'pending', 'held by the child');
  child.kill('SIGKILL');
  await (await ex)();
  t.pass('granted once the holder died');
});

t.test("a handle's namespace cookie is the kernel's (read as its socket was made): each namespace's own, the same on every ask", (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    // SO_NETNS_COOKIE (71) of a socket made afresh in the namespace, by another program.
    const kernels = (path: string) =>
      execFileSync('nsenter', [`--net=${path}`, 'python3', '-c', 'import socket,struct;s=socket.socket();print(struct.unpack("Q",s.getsockopt(socket.SOL_SOCKET,71,8))[0])'], { encoding: 'utf8' }).trim();
    const [guest, host, again] = await Promise.all([netnsCookie(g.handle), netnsCookie(s.host), netnsCookie(g.handle)]);
    t.equal(guest, kernels(`/proc/${process.pid}/fd/${g.ns.fd}`), "the guest handle's cookie is its namespace's");
    t.equal(host, kernels(`/proc/${process.pid}/fd/${s.hostNs.fd}`), "the host handle's cookie is its namespace's");
    t.not(guest, host, 'two namespaces, two cookies');
    t.equal(again, guest, 'asked again: the same');
    // A batch of cookie reads answers without the kernel: also from a fresh handle, in order, each the same.
    const h2 = await (await import('../../lib')).Handle.open(g.ns);
    try {
      const rs = await h2.runBatch([{ op: 'netns.cookie', args: {} }, { op: 'netns.cookie', args: {} }]);
      t.same(rs, [{ cookie: guest }, { cookie: guest }], "a second handle in the guest reads the guest's cookie");
    } finally {
      await h2.close();
    }
  }),
);

t.test('a guest given by path is journaled with that path: found again while it leads to the namespace, gone once it does not', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    // A path of our own to the guest's namespace (a bind mount of its name), relative as given.
    const dir = mkdtempSync(join(tmpdir(), 'pw-nspath-'));
    const file = join(dir, 'ns');
    writeFileSync(file, '');
    execFileSync('mount', ['--bind', g.ns.path!, file]);
    let mounted = true;
    const byPath = await Netns.open({ path: relative(process.cwd(), file) });
    try {
      t.equal(byPath.path, file, 'the Netns keeps the path it was opened by, made absolute');
      await attach({ host: s.host, hostIf: 'br0', guest: byPath, address: '10.9.1.2/24' });
      const cookie = await netnsCookie(g.handle);
      const [e] = (await readEntries()).filter((x) => x.entry.guestCookie === cookie);
      t.equal(e?.entry.guest.path, file, 'the entry names the path');
      t.equal(await guestReachable(e!.entry.guest, e!.entry.guestNetns), true, 'reachable by it');
      execFileSync('umount', ['-l', file]);
      mounted = false;
      t.equal(await guestReachable(e!.entry.guest, e!.entry.guestNetns), false, 'unreachable once the path leads elsewhere (the namespace itself lives on)');
    } finally {
      await byPath.close();
      if (mounted) execFileSync('umount', ['-l', file]);
      rmSync(dir, { recursive: true });
    }
  }),
);

t.test('an attach writes its entry and nothing for a re-run or a dry run', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest();
    const cookie = await netnsCookie(g.handle);
    const count = async () => (await readEntries()).filter((e) => e.entry.guestCookie === cookie).length;
    const spec = { host: s.host, hostIf: 'br0', guest: g.ns, address: '10.9.0.2/24' };
    await attach(spec);
    t.equal(await count(), 1, 'one entry for the attachment');
    t.equal((await attach(spec)).status, 'already-attached');
    const { planAttach } = await import('../../lib');
    await planAttach(spec);
    t.equal(await count(), 1, 'a re-run and a dry run wrote nothing');
  }),
);
