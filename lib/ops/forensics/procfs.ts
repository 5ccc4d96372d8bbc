// Small readers for /proc and mountinfo, and a concurrency limiter. Every
// /proc entry can vanish (the process exits) or be closed to us (another
// user's process when we are not root) while we look: those errors mean
// "skip it", never "fail the scan".
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';

/** Runs fn over items with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Errors that mean the entry went away or is not ours to read. */
export function isSkippable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM' || code === 'ENOTDIR' || code === 'EINVAL';
}

/** The inode in a namespace link such as 'net:[4026531833]', or null for anything else. */
export function nsInode(link: string, type = 'net'): number | null {
  const prefix = `${type}:[`;
  if (!link.startsWith(prefix) || !link.endsWith(']')) return null;
  const n = Number(link.slice(prefix.length, -1));
  return Number.isSafeInteger(n) ? n : null;
}

/** st_dev as glibc's makedev composes it from mountinfo's "major:minor". */
export function makedev(major: number, minor: number): number {
  // (major & 0xfffff000) << 32 | (major & 0xfff) << 8 | (minor & 0xffffff00) << 12 | (minor & 0xff),
  // in arithmetic rather than bit operations because the result can exceed 32 bits.
  return (Math.floor(major / 0x1000) * 0x1000) * 2 ** 32 + (major % 0x1000) * 0x100 + (Math.floor(minor / 0x100) * 0x100) * 0x1000 + (minor % 0x100);
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface MountinfoEntry {
  mountId: number;
  parentId: number;
  dev: number;
  /** The root of the mount within its filesystem; for nsfs, 'net:[INO]'. */
  root: string;
  mountPoint: string;
  /** Optional fields: 'shared:N', 'master:N', 'propagate_from:N', 'unbindable'. */
  optional: string[];
  fstype: string;
  source: string;
}

/** Parses one mountinfo line (proc(5)); null for a malformed line. */
export function parseMountinfoLine(line: string): MountinfoEntry | null {
  const f = line.split(' ');
  const sep = f.indexOf('-', 6);
  if (f.length < 10 || sep < 0) return null;
  const [maj, min] = f[2]!.split(':').map(Number);
  return {
    mountId: Number(f[0]),
    parentId: Number(f[1]),
    dev: makedev(maj ?? 0, min ?? 0),
    root: unescapeMountPath(f[3]!),
    mountPoint: unescapeMountPath(f[4]!),
    optional: f.slice(6, sep),
    fstype: f[sep + 1] ?? '',
    source: unescapeMountPath(f[sep + 2] ?? ''),
  };
}

/** The nsfs mounts of network namespaces in a mountinfo text; other lines are not even split. */
export function netnsMounts(text: string): MountinfoEntry[] {
  const out: MountinfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(' - nsfs ') || !line.includes(' net:[')) continue;
    const e = parseMountinfoLine(line);
    if (e && e.fstype === 'nsfs' && nsInode(e.root) !== null) out.push(e);
  }
  return out;
}

/** The numeric entries of /proc, ascending. */
export async function listPids(): Promise<number[]> {
  const names = await fsp.readdir('/proc');
  const pids: number[] = [];
  for (const n of names) if (n.charCodeAt(0) >= 48 && n.charCodeAt(0) <= 57) pids.push(Number(n));
  return pids.sort((a, b) => a - b);
}

/** Joins a process's root and a path it sees, for opening from our side. */
export function viaRoot(pid: number, path: string): string {
  return `/proc/${pid}/root${path.startsWith('/') ? '' : '/'}${path}`;
}
