// A shared store read relative to the reading before (lib/core/locked-dir.ts,
// native/locked_dir.h): the addon sends only what changed since the last
// reading this process holds (entries new or changed, names gone), and an
// entry that did not change (and the lease parsed from it) is the same
// object as before. A file changed in any way, even in place with its size
// and modification time put back, is sent again; everything is, when the
// reading asked about is not the one the addon last made of that directory
// (another name for the same directory read it since). From its second
// reading on, the directory is watched (native/store_file_cache.h): what
// changed is then told by its events, without listing it, unless events
// were lost.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transport, type NativeLockedDir } from '../../lib/core/native';
import { openLockedDir } from '../../lib/core/locked-dir';
import { openStore } from '../../lib/ops/cni/host-local/store';
import { rewriteInPlace, settled } from '../helpers/store-files';

/** A store of `n` leases under a fresh parent, its files' change times old enough to be kept (native/store_file_cache.h). */
async function storeOf(t: { teardown(f: () => void): void }, n: number): Promise<{ parent: string; dir: string }> {
  const parent = mkdtempSync(join(tmpdir(), 'pw-view-'));
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  const dir = join(parent, 'net');
  mkdirSync(dir);
  writeFileSync(join(dir, 'lock'), '');
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `10.85.0.${i + 2}`), `c${i}\r\neth0`);
  writeFileSync(join(dir, 'last_reserved_ip.0'), `10.85.0.${n + 1}`);
  await settled(['lock', 'last_reserved_ip.0', ...Array.from({ length: n }, (_, i) => `10.85.0.${i + 2}`)].map((f) => join(dir, f)));
  return { parent, dir };
}

/** One reading at the native boundary, the lock given back at once. */
async function read(parent: string, since: number): Promise<NativeLockedDir> {
  const r = await transport().lockedDirOpen(parent, 'net', 'lock', true, since);
  await transport().fdClose(r.lockFd);
  await transport().fdClose(r.dirFd);
  return r;
}

const names = (r: NativeLockedDir) => ({ sent: r.entries.map((e) => e.name).sort(), gone: r.gone === '' ? [] : r.gone.split('/').sort(), whole: r.whole, scanned: r.scanned });

t.test('only what changed since the reading the caller holds is sent', async (t) => {
  const { parent, dir } = await storeOf(t, 5);
  const all = ['10.85.0.2', '10.85.0.3', '10.85.0.4', '10.85.0.5', '10.85.0.6', 'last_reserved_ip.0', 'lock'];
  const first = await read(parent, 0);
  t.ok(first.reading > 0, 'the reading is numbered');
  t.same(names(first), { sent: all, gone: [], whole: true, scanned: true }, 'a caller that holds nothing is sent everything');

  // Changed before the directory is watched (its second reading): a stat per file tells.
  rewriteInPlace(join(dir, '10.85.0.6'), 'w0\r\neth0', parent);
  const second = await read(parent, first.reading);
  t.ok(second.reading > first.reading, 'each reading has a number of its own');
  t.same(names(second), { sent: ['10.85.0.6'], gone: [], whole: false, scanned: true }, 'the second reading lists the directory: the file changed in place is sent, the rest not');
  t.equal(second.entries[0]!.data, 'w0\r\neth0');
  const third = await read(parent, second.reading);
  t.same(names(third), { sent: [], gone: [], whole: false, scanned: false }, 'watched since: nothing changed, nothing listed, nothing sent');
  t.same(names(await read(parent, first.reading)), { sent: all, gone: [], whole: true, scanned: true }, 'a caller holding an older reading is sent everything');
  const fresh = await read(parent, 0);
  t.same(names(fresh), { sent: all, gone: [], whole: true, scanned: true }, 'so is one holding none');

  // Changed in place (same inode, size and modification time), replaced, added, removed, renamed.
  rewriteInPlace(join(dir, '10.85.0.2'), 'x0\r\neth0', parent);
  rmSync(join(dir, '10.85.0.3'));
  writeFileSync(join(dir, '10.85.0.3'), 'x1\r\neth0');
  writeFileSync(join(dir, '10.85.0.7'), 'x2\r\neth0');
  rmSync(join(dir, '10.85.0.4'));
  renameSync(join(dir, '10.85.0.5'), join(dir, '10.85.0.8'));
  const after = await read(parent, fresh.reading);
  t.same(names(after), { sent: ['10.85.0.2', '10.85.0.3', '10.85.0.7', '10.85.0.8'], gone: ['10.85.0.4', '10.85.0.5'], whole: false, scanned: false }, 'only what changed is sent, and what went is named, from the events alone');
  t.same(after.entries.map((e) => e.data).sort(), ['c3\r\neth0', 'x0\r\neth0', 'x1\r\neth0', 'x2\r\neth0'], 'with what the files hold now');
  // A file made and removed between two readings was never the caller's: it is in neither.
  writeFileSync(join(dir, 'passing'), 'x');
  rmSync(join(dir, 'passing'));
  t.same(names(await read(parent, after.reading)), { sent: [], gone: [], whole: false, scanned: false }, 'a file that came and went is in neither');
});

t.test('entries that are not files: a link and a directory, changed or not', async (t) => {
  const { parent, dir } = await storeOf(t, 1);
  symlinkSync('/etc/hostname', join(dir, '10.85.0.9'));
  mkdirSync(join(dir, 'sub'));
  const a = await read(parent, 0);
  t.same(a.entries.filter((e) => e.type !== 'file').map((e) => [e.name, e.type]).sort(), [['10.85.0.9', 'link'], ['sub', 'dir']], 'typed, never followed');
  const b = await read(parent, a.reading);
  const c = await read(parent, b.reading);
  t.same(names(c), { sent: [], gone: [], whole: false, scanned: false }, 'unchanged, watched: not sent');
  rmSync(join(dir, '10.85.0.9'));
  writeFileSync(join(dir, '10.85.0.9'), 'now a file');
  writeFileSync(join(dir, 'sub', 'inside'), 'not an entry of the store');
  const d = await read(parent, c.reading);
  t.same(names(d), { sent: ['10.85.0.9'], gone: [], whole: false, scanned: false }, 'the link made a file is sent; what changed inside a subdirectory is not an entry');
  t.same(d.entries[0], { name: '10.85.0.9', type: 'file', data: 'now a file' });
});

t.test('events lost (the queue overflowed): the next reading lists the directory, and is right', async (t) => {
  const { parent, dir } = await storeOf(t, 3);
  const a = await read(parent, 0);
  const b = await read(parent, a.reading);
  const watched = await read(parent, b.reading);
  t.equal(watched.scanned, false, 'watched');
  // More events than the kernel queues for one watcher: two files written in turn (a run of the same event would be merged into one).
  const max = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
  const fds = [openSync(join(dir, 'a'), 'w'), openSync(join(dir, 'b'), 'w')];
  for (let i = 0; i <= max; i++) writeSync(fds[i % 2]!, 'x', 0);
  fds.forEach((fd) => closeSync(fd));
  rewriteInPlace(join(dir, '10.85.0.2'), 'y0\r\neth0', parent);
  rmSync(join(dir, '10.85.0.3'));
  const flooded = await read(parent, watched.reading);
  t.same(names(flooded), { sent: ['10.85.0.2', 'a', 'b'], gone: ['10.85.0.3'], whole: false, scanned: true }, 'after the overflow the directory is listed: what changed meanwhile is sent, what went is named');
  t.equal(flooded.entries.find((e) => e.name === '10.85.0.2')?.data, 'y0\r\neth0', 'as it is now');
  t.same(names(await read(parent, flooded.reading)), { sent: [], gone: [], whole: false, scanned: false }, 'then the events tell again');
});

t.test('the directory removed and made again under its name: read afresh', async (t) => {
  const { parent, dir } = await storeOf(t, 2);
  const a = await read(parent, 0);
  const b = await read(parent, a.reading);
  rmSync(dir, { recursive: true });
  mkdirSync(dir);
  writeFileSync(join(dir, '10.85.0.40'), 'n0\r\neth0');
  const c = await read(parent, b.reading);
  t.same(names(c), { sent: ['10.85.0.40', 'lock'], gone: [], whole: true, scanned: true }, 'another directory (even with its inode number recycled): everything it holds, sent whole');
  const d = await read(parent, c.reading);
  const e = await read(parent, d.reading);
  t.same(names(e), { sent: [], gone: [], whole: false, scanned: false }, 'and watched in its turn');
});

t.test('an unchanged entry, and the lease read from it, are the objects of the reading before', async (t) => {
  const { parent, dir } = await storeOf(t, 4);
  const take = async () => {
    const s = await openStore(parent, 'net');
    await s.dir.release();
    return s;
  };
  const leases = (s: Awaited<ReturnType<typeof take>>) => [...s.byOwner.values()].flat().sort((x, y) => (x.name < y.name ? -1 : 1));
  const a = await take();
  const b = await take();
  t.equal(b.entries.size, 6);
  for (const [name, e] of a.entries) t.equal(b.entries.get(name), e, `${name}: the same entry`);
  t.same(leases(b).map((l) => l.owner), ['c0\r\neth0', 'c1\r\neth0', 'c2\r\neth0', 'c3\r\neth0']);
  leases(b).forEach((l, i) => t.equal(l, leases(a)[i], `${l.name}: the same lease`));
  t.ok(Object.isFrozen(b.entries.get('10.85.0.2')) && Object.isFrozen(leases(b)[0]) && Object.isFrozen(leases(b)[0]!.ip), 'shared, so frozen');

  rewriteInPlace(join(dir, '10.85.0.3'), 'y1\r\neth0', parent);
  const c = await take();
  t.not(c.entries.get('10.85.0.3'), b.entries.get('10.85.0.3'), 'the changed file is a new entry');
  t.equal(leases(c).find((l) => l.name === '10.85.0.3')?.owner, 'y1\r\neth0', 'and a new lease, with its new owner');
  t.equal(c.entries.get('10.85.0.4'), b.entries.get('10.85.0.4'), 'the others are kept');
  t.equal(leases(c).find((l) => l.name === '10.85.0.4'), leases(b).find((l) => l.name === '10.85.0.4'));
});

t.test("the leases by owner follow every kind of change, each owner's in lexical order", async (t) => {
  const { parent, dir } = await storeOf(t, 4);
  const take = async () => {
    const s = await openStore(parent, 'net');
    await s.dir.release();
    return Object.fromEntries([...s.byOwner].map(([owner, ls]) => [owner, ls.map((l) => l.name)]));
  };
  t.same(await take(), { 'c0\r\neth0': ['10.85.0.2'], 'c1\r\neth0': ['10.85.0.3'], 'c2\r\neth0': ['10.85.0.4'], 'c3\r\neth0': ['10.85.0.5'] });
  await take();
  // A second lease for c0 (sorting before its first), an owner changed, a lease gone, an old-format lease, a file that is no lease.
  writeFileSync(join(dir, '10.85.0.10'), 'c0\r\neth0');
  writeFileSync(join(dir, '10.85.0.3'), 'c0\r\neth0');
  rmSync(join(dir, '10.85.0.4'));
  writeFileSync(join(dir, '10.85.0.20'), ' c9 \n');
  writeFileSync(join(dir, 'notes'), 'c3\r\neth0');
  t.same(await take(), { 'c0\r\neth0': ['10.85.0.10', '10.85.0.2', '10.85.0.3'], 'c3\r\neth0': ['10.85.0.5'], c9: ['10.85.0.20'] }, 'as a fresh reading of the files would say');
  writeFileSync(join(dir, '10.85.0.2'), 'c3\r\neth0');
  rmSync(join(dir, '10.85.0.20'));
  t.same(await take(), { 'c0\r\neth0': ['10.85.0.10', '10.85.0.3'], 'c3\r\neth0': ['10.85.0.2', '10.85.0.5'] }, 'an owner with no lease left is gone');
});

t.test('a file over 4 KiB is read and sent every time, and its entry is not kept', async (t) => {
  const { parent, dir } = await storeOf(t, 1);
  const big = 'x'.repeat(5000);
  writeFileSync(join(dir, 'notes'), big);
  await settled([join(dir, 'notes')]);
  const first = await read(parent, 0);
  const second = await read(parent, first.reading);
  t.same(names(second), { sent: ['notes'], gone: [], whole: false, scanned: true }, 'the big file is sent again, the rest not');
  t.equal(second.entries[0]!.data, big);
  t.same(names(await read(parent, second.reading)), { sent: ['notes'], gone: [], whole: false, scanned: false }, 'so it is when the directory is watched');
  const a = await openLockedDir(parent, 'net', 'lock');
  await a.release();
  const b = await openLockedDir(parent, 'net', 'lock');
  await b.release();
  t.equal(b.entries.get('notes')?.data, big, 'through openLockedDir too');
  t.not(b.entries.get('notes'), a.entries.get('notes'), 'a new entry each time: not kept between readings');
  t.equal(b.entries.get('10.85.0.2'), a.entries.get('10.85.0.2'), 'while a lease is');
});

t.test('a reading through another name of the directory: the first name is sent everything again', async (t) => {
  const { parent, dir } = await storeOf(t, 3);
  const other = mkdtempSync(join(tmpdir(), 'pw-view-other-'));
  // The sandbox's own mount namespace: the bind mount goes with it.
  execFileSync('mount', ['--bind', parent, other]);
  t.teardown(() => {
    execFileSync('umount', [other]);
    rmSync(other, { recursive: true, force: true });
  });
  const entry = async (p: string, name: string) => {
    const d = await openLockedDir(p, 'net', 'lock');
    await d.release();
    return d.entries.get(name);
  };
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'c0\r\neth0', 'read through the first name');
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'c0\r\neth0', 'and again: kept');
  rewriteInPlace(join(dir, '10.85.0.2'), 'z0\r\neth0', parent);
  await settled([join(dir, '10.85.0.2')]);
  t.equal((await entry(other, '10.85.0.2'))?.data, 'z0\r\neth0', 'the other name reads the change, and the addon keeps it');
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'z0\r\neth0', 'the first name sees it too: its reading is not the one the addon holds');
});
