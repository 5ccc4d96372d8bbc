// A lock file removed while it is held (a CNI container's lock, pruned by
// the DEL that holds it): a taker already waiting on the old file must end up
// holding the file that has the name now, never a file nobody else can see;
// releaseAndRemove leaves no file behind. Each step waits on the kernel's
// own view of the locks (/proc/locks), never on time.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockStateFilePrunable, lockStateFilePrunableAndRead, writeStateFile } from '../../lib/core/state-files';
import { held, lockId, untilLocks, waitedFor } from '../helpers/proc-locks';

const root = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'lock-prune-test-'));
process.env.PW_STATE_DIR = root;
t.teardown(() => rmSync(root, { recursive: true, force: true }));


/** flock(1) -n on the path: 0 when the file of that name is free, 1 when someone holds it. */
function tryLock(path: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const p = spawn('flock', ['-n', '-x', path, 'true'], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', (code) => resolve(code));
  });
}

t.test('a taker granted a lock file that was removed meanwhile takes the file of that name instead', async (t) => {
  const dir = join(root, 'locks-a');
  const path = join(dir, 'x');
  await (await lockStateFilePrunable('locks-a', 'x')).release(); // the directory and the file, as pipewright makes them
  // Someone holds x and will remove it, as a pruning holder does.
  const holder = spawn('flock', ['-x', path, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const old = lockId(path);
  await untilLocks(old, held, 'the holder');
  // Our taker opens x and waits on it (the gate is free).
  let granted = false;
  const taking = lockStateFilePrunable('locks-a', 'x').then((l) => ((granted = true), l));
  await untilLocks(old, waitedFor, 'our taker to wait on x');
  unlinkSync(path);
  const exited = new Promise((r) => holder.on('exit', r));
  holder.stdin!.end();
  await exited;
  const lock = await taking;
  t.ok(granted, 'granted once the holder let go');
  t.equal(await tryLock(path), 1, 'what it holds is the file called x now: another taker of x must wait');
  t.not(lockId(path), old, 'a fresh file');
  await lock.release();
  t.equal(await tryLock(path), 0, 'released');
});

t.test('releaseAndRemove: the lock file and its gate go; a taker waiting meanwhile holds the fresh file; nothing is left', async (t) => {
  const dir = join(root, 'locks-b');
  const path = join(dir, 'c');
  const first = await lockStateFilePrunable('locks-b', 'c');
  t.same(readdirSync(dir).sort(), ['c', 'c.gate'], 'a lock file and its gate');
  const gate = lockId(`${path}.gate`);
  const taking = lockStateFilePrunable('locks-b', 'c');
  await untilLocks(gate, waitedFor, 'the second taker to wait at the gate');
  await first.releaseAndRemove();
  const second = await taking;
  t.equal(await tryLock(path), 1, 'the second taker holds the file called c');
  await second.releaseAndRemove();
  t.same(readdirSync(dir), [], 'no file left');
  await second.releaseAndRemove();
  await second.release();
  t.same(readdirSync(dir), [], 'giving it back again does nothing');
});

t.test('a lock and the file it guards, read by its name under it in one trip: held until released; nothing held when the read fails', async (t) => {
  const path = join(root, 'locks-c', 'k');
  await writeStateFile('recs-c', 'k-1.json', '{"a":1}\n');
  await writeStateFile('recs-c', 'k-10.json', '{"a":10}\n');
  await writeStateFile('recs-c', 'other.json', '{}\n');
  const absent = await lockStateFilePrunableAndRead('locks-c', 'k', 'recs-c', 'k-2.json');
  t.equal(absent.file, null, 'a file not there is null, the lock held all the same');
  await absent.lock.release();
  const { lock, file } = await lockStateFilePrunableAndRead('locks-c', 'k', 'recs-c', 'k-1.json');
  t.same([file?.name, file?.data], ['k-1.json', '{"a":1}\n'], 'the file of that name, with its contents');
  t.equal(await tryLock(path), 1, 'the lock is held');
  // A second taker waits on it (seen in /proc/locks), and gets it, with the file as it is then, once it is given back.
  const second = lockStateFilePrunableAndRead('locks-c', 'k', 'recs-c', 'k-10.json');
  // An exclusive holder keeps the gate in front of the lock file too (native/file_lock.h): the taker waits there.
  await untilLocks(lockId(`${path}.gate`), waitedFor, 'the second taker to wait');
  await writeStateFile('recs-c', 'k-10.json', '{"a":11}\n');
  await lock.release();
  const s2 = await second;
  t.same(s2.file?.data, '{"a":11}\n', 'read after the lock was granted');
  await s2.lock.releaseAndRemove();
  t.same(readdirSync(join(root, 'locks-c')), [], 'releaseAndRemove left no lock file nor gate');
  t.equal(await tryLock(path), 0, 'free again');

  // A guarded directory that is a symbolic link (never followed): the read fails, and the lock is not kept.
  const elsewhere = mkdtempSync(join(root, 'decoy-'));
  writeFileSync(join(elsewhere, 'k-1.json'), '{"decoy":true}\n');
  mkdirSync(join(root, 'locks-d'), { recursive: true });
  symlinkSync(elsewhere, join(root, 'recs-d'));
  const failed = await lockStateFilePrunableAndRead('locks-d', 'k', 'recs-d', 'k-1.json').then(() => null, (e: unknown) => e);
  t.ok(failed instanceof Error, `the read through a symbolic link is refused: ${(failed as Error)?.message}`);
  t.equal(await tryLock(join(root, 'locks-d', 'k')), 0, 'and the lock was given back');
  t.same(readFileSync(join(elsewhere, 'k-1.json'), 'utf8'), '{"decoy":true}\n', 'the decoy is untouched');
});
