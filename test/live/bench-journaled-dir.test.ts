// The CNI benchmark's store directory (bench/lib/journaled-dir.js): on a
// loop-mounted ext4 that has a journal when one can be had, else in the
// temporary directory, saying why; either way close() leaves nothing: no
// mount, no loop device, no image, no directory.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { journaledDir } = require('../../bench/lib/journaled-dir.js') as { journaledDir: (parent: string) => { dir: string; fs: string; close: () => void } };

const hostRoot = process.geteuid?.() === 0 && /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));

/** The mount at exactly `dir` in this mount namespace, as /proc/self/mountinfo shows it (its filesystem type and source), or null. */
function mountAt(dir: string): { type: string; source: string } | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right || left!.split(' ')[4] !== dir) continue;
    const [type, source] = right.split(' ');
    return { type: type!, source: source! };
  }
  return null;
}

/** A directory of the test's own; at its end, the store is closed if the test did not get to it, then the directory removed (never with a mount under it). */
function parent(t: Test, store: () => { close: () => void } | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-journaled-'));
  t.teardown(() => {
    store()?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

t.test('on a journaled ext4 of its own, and close() leaves no mount, loop device or file', { skip: !hostRoot && 'rootless: no loop devices to mount (the fallback is tested below)' }, async (t) => {
  let open: { close: () => void } | null = null;
  const where = parent(t, () => open);
  const store = journaledDir(where);
  open = store;
  const image = join(where, 'store.img');
  t.match(store.fs, /^ext4 with a journal/, 'the report names the filesystem');
  const m = mountAt(store.dir);
  t.equal(m?.type, 'ext4', 'the directory is an ext4 mount');
  t.match(m?.source ?? '', /^\/dev\/loop\d+$/, 'on a loop device');
  t.match(execFileSync('dumpe2fs', ['-h', image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), /features:.*\bhas_journal\b/, 'that has a journal');
  writeFileSync(join(store.dir, '10.30.0.2'), 'a lease');
  const loop = m!.source;
  open = null;
  store.close();
  t.equal(mountAt(store.dir), null, 'unmounted');
  t.notOk(existsSync(store.dir), 'its directory removed');
  t.notOk(existsSync(image), 'its image removed');
  t.notMatch(execFileSync('losetup', ['-a'], { encoding: 'utf8' }), new RegExp(`^${loop}:`, 'm'), 'its loop device detached');
  t.same(readdirSync(where), [], 'nothing left beside it');
});

t.test('without a journaled ext4 to be had: the temporary directory, saying why, and close() removes it', async (t) => {
  const where = parent(t, () => null);
  // No mkfs.ext4 on the way (rootless, the mount is refused anyway).
  const path = process.env.PATH;
  process.env.PATH = join(where, 'no-tools-here');
  let store;
  try {
    store = journaledDir(where);
  } finally {
    process.env.PATH = path;
  }
  t.match(store.fs, /of the temporary directory \(no journaled ext4 to be had: .+\)$/, 'the report says where, and why');
  t.equal(mountAt(store.dir), null, 'nothing mounted');
  writeFileSync(join(store.dir, '10.30.0.2'), 'a lease');
  t.notOk(existsSync(join(where, 'store.img')), 'no image left from the attempt');
  store.close();
  t.same(readdirSync(where), [], 'close() removed the directory and what was in it');
});
