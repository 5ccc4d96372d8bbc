// holders(): everything that keeps one network namespace alive, and what
// would let it go. The namespace is identified without holding it: a path is
// stat()ed (and its filesystem checked to be nsfs), never opened.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';
import { PipewrightError } from '../../core/errors';
import { DEFAULT_RUN_DIR, Netns, netnsName } from '../../core/netns';
import { collectHolders, NAME_DIRS } from './collect';
import { namespaceNameOf, releaseCommand } from './release';
import { parseNetnsId } from './scan';
import type { NetnsFlags, NetnsHolders, Release } from './types';

const NSFS_MAGIC = 0x6e736673;

/** A namespace by name (in /run/netns, then Docker's dir), path, inode ('4026532000', 'net:[…]', 'dev:ino'). */
export type HoldersRef = string | number | { name: string; runDir?: string } | { path: string } | { ino: number; dev?: number };

export interface HoldersReport extends NetnsHolders {
  id: string;
  dev: number;
  ino: number;
  /**
   * False when nothing visible holds it: it is gone, or held only by a
   * socket created inside it (waitReleased with a handle tells those apart).
   */
  alive: boolean;
  /** waitReleased with a handle: alive although /proc shows no holder (a socket). */
  hidden?: boolean;
  /** waitReleased with a handle: false when this kernel could not confirm it is gone. */
  confirmed?: boolean;
  flags: Omit<NetnsFlags, 'current'>;
  /** One action per holder; doing all of them releases the namespace. */
  releases: Release[];
}

/**
 * Resolves a path to its namespace identity, checking it is a network
 * namespace file. A name (asName) is never followed if it is a symbolic
 * link: what it points to is not that name's namespace.
 */
async function identifyPath(path: string, asName = false): Promise<{ dev: number; ino: number }> {
  let st, fs;
  try {
    if (asName && (await fsp.lstat(path)).isSymbolicLink())
      throw new PipewrightError('ERR_PW_UNSAFE_PATH', `${path} is a symbolic link, not a namespace name (pipewright does not follow symbolic links in the namespace directory)`, { field: 'ref', value: path });
    [st, fs] = await Promise.all([fsp.stat(path), fsp.statfs(path)]);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new PipewrightError('ERR_PW_NETNS_NOT_FOUND', `${path} does not exist`, { field: 'ref', value: path });
    throw e;
  }
  if (fs.type !== NSFS_MAGIC)
    throw new PipewrightError('ERR_PW_NOT_A_NETNS', `${path} is not a namespace (not an nsfs file: a stale name, or a mount visible only in another mount namespace)`, { field: 'ref', value: path });
  return { dev: st.dev, ino: st.ino };
}

async function resolveRef(ref: HoldersRef): Promise<{ dev?: number; ino: number }> {
  if (typeof ref === 'number') {
    const id = parseNetnsId(ref);
    if (!id) throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `ref: ${ref} is not a namespace inode`, { field: 'ref', value: ref });
    return id;
  }
  if (typeof ref === 'object') {
    if ('ino' in ref) return ref;
    if ('path' in ref) return identifyPath(ref.path);
    return identifyPath(`${ref.runDir ?? DEFAULT_RUN_DIR}/${netnsName('name', ref.name)}`, true);
  }
  if (ref.includes('/')) return identifyPath(ref);
  const id = parseNetnsId(ref);
  if (id) return id;
  const name = netnsName('ref', ref);
  let last: unknown;
  for (const dir of NAME_DIRS) {
    try {
      return await identifyPath(`${dir}/${name}`, true);
    } catch (e) {
      last = e;
      if ((e as { code?: string }).code !== 'ERR_PW_NETNS_NOT_FOUND') throw e;
    }
  }
  throw last;
}

/** The releases for a set of holders, in the order that frees the namespace soonest. */
export function releasesFor(h: NetnsHolders): Release[] {
  const out: Release[] = [];
  // /var/run is a symlink to /run on current distributions: mountinfo shows the resolved path.
  const canonical = (p: string) => p.replace(/^\/var\/run\//, '/run/');
  const namePaths = new Set(h.names.map((n) => canonical(n.path)));
  for (const n of h.names) {
    const isDocker = n.dir !== DEFAULT_RUN_DIR;
    out.push({
      holder: 'name', path: n.path,
      action: isDocker ? `remove the stale Docker handle ${n.path} (unmount and unlink)` : `delete the name '${n.name}' (unmount and unlink)`,
      command: isDocker ? `umount -l ${n.path}; rm ${n.path}` : `pipewright netns delete ${n.name}`,
    });
  }
  for (const m of h.mounts) {
    if (m.ours && namePaths.has(canonical(m.mountPoint))) continue;
    const named = namespaceNameOf(m.mountPoint);
    // Only a namespace name may be unlinked: any other mount point is
    // somebody's file or directory, and only unmounting it is suggested.
    out.push(
      m.ours
        ? named
          ? { holder: 'mount', path: m.mountPoint, mntns: m.mntns, action: `delete the name '${named.name}' (unmount and unlink)`, command: `pipewright netns delete ${named.name}` }
          : { holder: 'mount', path: m.mountPoint, mntns: m.mntns, action: `unmount ${m.mountPoint} (not a namespace name: the file under it is left as it is)`, command: releaseCommand(m) }
        : {
            holder: 'mount', pid: m.pid, path: m.mountPoint, mntns: m.mntns,
            action: named
              ? `unmount ${m.mountPoint} in mount namespace mnt:[${m.mntns}] (pid ${m.pid} ${m.comm} is in it), or unlink that name, which detaches it everywhere`
              : `unmount ${m.mountPoint} in mount namespace mnt:[${m.mntns}] (pid ${m.pid} ${m.comm} is in it)`,
            command: releaseCommand(m),
          },
    );
  }
  for (const p of h.processes) {
    const who = `pid ${p.pid} (${p.comm})`;
    out.push({
      holder: 'process', pid: p.pid,
      action: p.allThreads ? `end ${who}, which runs in it` : `end ${who}: threads ${p.tids.join(', ')} run in it`,
      command: `kill ${p.pid}`,
    });
  }
  for (const f of h.fds) {
    out.push({ holder: 'fd', pid: f.pid, fd: f.fd, action: `close fd ${f.fd} of pid ${f.pid} (${f.comm}), or end that process`, command: `kill ${f.pid}` });
  }
  return out;
}

/** One line per holder, for messages. */
export function holderLines(h: NetnsHolders): string[] {
  return [
    ...h.processes.map((p) => `process ${p.pid} (${p.comm})${p.allThreads ? '' : ` threads ${p.tids.join(',')}`}`),
    ...h.fds.map((f) => `fd ${f.fd} of pid ${f.pid} (${f.comm})`),
    ...h.mounts.map((m) => `mount ${m.mountPoint} in ${m.ours ? 'our mount namespace' : `mount namespace mnt:[${m.mntns}] (pid ${m.pid} ${m.comm})`}`),
  ];
}

export async function holders(ref: HoldersRef, opts: { nameDirs?: string[] } = {}): Promise<HoldersReport> {
  const id = await resolveRef(ref);
  const c = await collectHolders({ ino: id.ino, ...(opts.nameDirs ? { nameDirs: opts.nameDirs } : {}) });
  const dev = id.dev ?? c.self.netnsDev;
  const e = dev === c.self.netnsDev ? c.byIno.get(id.ino) : undefined;
  const h: NetnsHolders = e ? { processes: e.processes, mounts: e.mounts, fds: e.fds, names: e.names } : { processes: [], mounts: [], fds: [], names: [] };
  const orphan = h.processes.length === 0;
  return {
    id: `${dev}:${id.ino}`,
    dev,
    ino: id.ino,
    ...h,
    alive: h.processes.length + h.mounts.length + h.fds.length > 0,
    flags: { orphan, unreachableFromHere: orphan && h.fds.length === 0 && h.mounts.length > 0 && h.mounts.every((m) => !m.ours) },
    releases: releasesFor(h),
  };
}

/**
 * Polls holders() until nothing holds the namespace or `timeoutMs` passes
 * (backing off from 10 ms), and returns the last report. Holders that are
 * on their way out (a process exiting, another tool's scan that opened it
 * for a moment) get that long to go. With the namespace's file `handle`
 * (Netns.remove gives it), "nothing visible holds it" is checked against
 * the kernel: still alive means a holder /proc cannot show (a socket).
 */
export async function waitReleased(
  id: { ino: number; dev?: number; handle?: string },
  timeoutMs: number,
): Promise<HoldersReport & { waitedMs: number }> {
  const started = performance.now();
  let delay = 10;
  for (;;) {
    let report: HoldersReport = await holders({ ino: id.ino, ...(id.dev !== undefined ? { dev: id.dev } : {}) });
    if (!report.alive && id.handle !== undefined) {
      const exists = await Netns.exists(id.handle);
      if (exists === true) report = { ...report, alive: true, hidden: true };
      else report = { ...report, confirmed: exists === false };
    }
    const waitedMs = Math.round(performance.now() - started);
    if (!report.alive || waitedMs >= timeoutMs) return { ...report, waitedMs };
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, timeoutMs - waitedMs))));
    delay *= 2;
  }
}
