// A shared store read relative to the reading before (lib/core/locked-dir.ts,
// native/locked_dir.h): the addon names the files unchanged since the last
// reading this process holds instead of sending them again, and such an
// entry (and the lease parsed from it) is the same object as before. A file
// changed in any way, even in place with its size and modification time put
// back, is sent again; so is everything when the reading asked about is not
// the one the addon last made of that directory (another name for the same
// directory read it since).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transport, type NativeLockedDir } from '../../lib/core/native';
import { openLockedDir, type LockedDirEntry } from '../../lib/core/locked-dir';
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

const names = (r: NativeLockedDir) => ({ sent: r.entries.map((e) => e.name).sort(), same: r.same === '' ? [] : r.same.split('/').sort() });
const byName = (entries: readonly LockedDirEntry[]) => new Map(entries.map((e) => [e.name, e]));

t.test('files unchanged since the reading the caller holds are named, not sent', async (t) => {
  const { parent, dir } = await storeOf(t, 5);
  const all = ['10.85.0.2', '10.85.0.3', '10.85.0.4', '10.85.0.5', '10.85.0.6', 'last_reserved_ip.0', 'lock'];
  const first = await read(parent, 0);
  t.ok(first.reading > 0, 'the reading is numbered');
  t.same(names(first), { sent: all, same: [] }, 'a caller that holds nothing is sent everything');
  const second = await read(parent, first.reading);
  t.ok(second.reading > first.reading, 'each reading has a number of its own');
  t.same(names(second), { sent: [], same: all }, 'nothing changed: every file is named, none sent');
  t.same(names(await read(parent, first.reading)), { sent: all, same: [] }, 'a caller holding an older reading is sent everything');
  const fresh = await read(parent, 0);
  t.same(names(fresh), { sent: all, same: [] }, 'so is one holding none');

  // Changed in place (same inode, size and modification time), replaced, added, removed.
  rewriteInPlace(join(dir, '10.85.0.2'), 'x0\r\neth0', parent);
  rmSync(join(dir, '10.85.0.3'));
  writeFileSync(join(dir, '10.85.0.3'), 'x1\r\neth0');
  writeFileSync(join(dir, '10.85.0.7'), 'x2\r\neth0');
  rmSync(join(dir, '10.85.0.4'));
  const after = await read(parent, fresh.reading);
  t.same(names(after), { sent: ['10.85.0.2', '10.85.0.3', '10.85.0.7'], same: ['10.85.0.5', '10.85.0.6', 'last_reserved_ip.0', 'lock'] }, 'only what changed is sent; what went is in neither');
  t.same(after.entries.map((e) => e.data).sort(), ['x0\r\neth0', 'x1\r\neth0', 'x2\r\neth0'], 'with what the files hold now');
});

t.test('an unchanged entry, and the lease read from it, are the objects of the reading before', async (t) => {
  const { parent, dir } = await storeOf(t, 4);
  const take = async () => {
    const s = await openStore(parent, 'net');
    await s.dir.release();
    return s;
  };
  const a = await take();
  const b = await take();
  t.equal(b.entries.size, 6);
  for (const [name, e] of a.entries) t.equal(b.entries.get(name), e, `${name}: the same entry`);
  t.same(b.leases.map((l) => l.owner), ['c0\r\neth0', 'c1\r\neth0', 'c2\r\neth0', 'c3\r\neth0']);
  b.leases.forEach((l, i) => t.equal(l, a.leases[i], `${l.name}: the same lease`));
  t.ok(Object.isFrozen(b.entries.get('10.85.0.2')) && Object.isFrozen(b.leases[0]) && Object.isFrozen(b.leases[0]!.ip), 'shared, so frozen');

  rewriteInPlace(join(dir, '10.85.0.3'), 'y1\r\neth0', parent);
  const c = await take();
  t.not(c.entries.get('10.85.0.3'), b.entries.get('10.85.0.3'), 'the changed file is a new entry');
  t.equal(c.leases.find((l) => l.name === '10.85.0.3')?.owner, 'y1\r\neth0', 'and a new lease, with its new owner');
  t.equal(c.entries.get('10.85.0.4'), b.entries.get('10.85.0.4'), 'the others are kept');
  t.equal(c.leases.find((l) => l.name === '10.85.0.4'), b.leases.find((l) => l.name === '10.85.0.4'));
});

t.test('a file over 4 KiB is read and sent every time, and its entry is not kept', async (t) => {
  const { parent, dir } = await storeOf(t, 1);
  const big = 'x'.repeat(5000);
  writeFileSync(join(dir, 'notes'), big);
  await settled([join(dir, 'notes')]);
  const first = await read(parent, 0);
  const second = await read(parent, first.reading);
  t.same(names(second), { sent: ['notes'], same: ['10.85.0.2', 'last_reserved_ip.0', 'lock'] }, 'the big file is sent again, the rest named');
  t.equal(second.entries[0]!.data, big);
  const a = await openLockedDir(parent, 'net', 'lock');
  await a.release();
  const b = await openLockedDir(parent, 'net', 'lock');
  await b.release();
  t.equal(byName(b.entries).get('notes')?.data, big, 'through openLockedDir too');
  t.not(byName(b.entries).get('notes'), byName(a.entries).get('notes'), 'a new entry each time: not kept between readings');
  t.equal(byName(b.entries).get('10.85.0.2'), byName(a.entries).get('10.85.0.2'), 'while a lease is');
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
    return byName(d.entries).get(name);
  };
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'c0\r\neth0', 'read through the first name');
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'c0\r\neth0', 'and again: kept');
  rewriteInPlace(join(dir, '10.85.0.2'), 'z0\r\neth0', parent);
  await settled([join(dir, '10.85.0.2')]);
  t.equal((await entry(other, '10.85.0.2'))?.data, 'z0\r\neth0', 'the other name reads the change, and the addon keeps it');
  t.equal((await entry(parent, '10.85.0.2'))?.data, 'z0\r\neth0', 'the first name sees it too: its reading is not the one the addon holds');
});
