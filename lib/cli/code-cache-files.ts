// The files of launch.ts's code caches: their header, and the removal of
// those no run can use again, so that the cache directory does not grow
// with every install, rebuild and upgrade. A cache names the bundle it was made from, with that bundle's size and
// mtime: when the bundle is gone, or has been rebuilt since, the cache is
// dead. A cache of the older format (it names no bundle) is removed once
// it is 30 days old. Run by launch.ts only when it writes a cache (after
// a miss), never on the way to a command.
import { closeSync, constants, fstatSync, openSync, readSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The first line of every cache launch.ts writes (the format of 2026-12 and later names its bundle). */
export const CACHE_MAGIC = 'pipewright-code-cache';
const OLD_FORMAT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
/** A temporary file of a write that never got renamed (the writer died) is dead after this long. */
const TEMP_MAX_AGE_MS = 3600 * 1000;

/** The header's fields: `pipewright-code-cache 3 NODE ARCH SIZE MTIME "BUNDLE"`. */
export function cacheHeader(node: string, arch: string, size: number, mtimeMs: number, bundle: string): string {
  return `${CACHE_MAGIC} 3 ${node} ${arch} ${size} ${mtimeMs} ${JSON.stringify(bundle)}\n`;
}

type Verdict = 'live' | 'dead' | 'foreign';

/** What the first line of a file in the cache directory says about it. */
export function judge(firstLine: string, fileMtimeMs: number, now: number): Verdict {
  const fields = firstLine.split(' ');
  if (fields[0] !== CACHE_MAGIC) return 'foreign';
  if (fields[1] !== '3') return now - fileMtimeMs > OLD_FORMAT_MAX_AGE_MS ? 'dead' : 'live';
  let bundle: unknown;
  try {
    bundle = JSON.parse(fields.slice(6).join(' '));
  } catch {
    return 'foreign';
  }
  if (typeof bundle !== 'string') return 'foreign';
  try {
    const st = statSync(bundle);
    return String(st.size) === fields[4] && String(st.mtimeMs) === fields[5] ? 'live' : 'dead';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'dead' : 'live';
  }
}

/**
 * Removes the dead caches of `dir` (launch.ts has checked it is this
 * user's alone), except `keep`. Only regular files of this user's, named
 * *.cache (or a dead writer's *.cache.PID), opened without following a
 * symbolic link, whose first line is a cache header: anything else in the
 * directory is left alone.
 */
export function pruneDeadCaches(dir: string, keep: string, now = Date.now()): string[] {
  const removed: string[] = [];
  const euid = process.geteuid?.();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const temp = /\.cache\.\d+$/.test(name);
    if ((!name.endsWith('.cache') && !temp) || name === keep) continue;
    const path = join(dir, name);
    let fd: number | undefined;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const st = fstatSync(fd);
      if (!st.isFile() || st.uid !== euid) continue;
      const head = Buffer.alloc(4096);
      const n = readSync(fd, head, 0, head.length, 0);
      const firstLine = head.subarray(0, n).toString('utf8').split('\n', 1)[0]!;
      const verdict = temp ? (firstLine.startsWith(CACHE_MAGIC) && now - st.mtimeMs > TEMP_MAX_AGE_MS ? 'dead' : 'live') : judge(firstLine, st.mtimeMs, now);
      if (verdict !== 'dead') continue;
      unlinkSync(path);
      removed.push(name);
    } catch {
      // gone already, or not ours to read: leave it
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return removed;
}
