// One sweep of /proc that finds every holder of every network namespace,
// without opening any namespace: threads (per task), open fds, nsfs mounts in
// every mount namespace (mountinfo read once per mount namespace and root,
// reached through that process's root), and the names directories.
// fs.promises, read at each call: node:fs/promises (with streams and readline) loads on first use, not at every CLI start.
import { promises as fsp } from 'node:fs';
import { Netns } from '../../core/netns';
import { isSkippable, listPids, mapLimit, netnsMounts, nsInode, viaRoot } from './procfs';
import type { FdHolder, MountHolder, NetnsHolders, ProcessHolder, StaleName } from './types';

/** Where named namespaces live: iproute2's and Docker's. */
export const NAME_DIRS = ['/run/netns', '/var/run/docker/netns'];

/** Processes read at once: enough to keep the thread pool busy, few enough to bound open fds. */
const PID_CONCURRENCY = 32;

export interface RawNetns extends NetnsHolders {
  dev: number;
  ino: number;
}

export interface Collected {
  /** Keyed by inode (nsfs has a single device, so the inode alone is unique). */
  byIno: Map<number, RawNetns>;
  /**
   * Fds on an nsfs inode of a type the sweep cannot tell without opening it
   * (opened through a bind mount since detached): a network namespace only
   * if it opens as one. Empty when `ino` is given.
   */
  unverified: Array<FdHolder & { ino: number }>;
  stale: StaleName[];
  self: { netnsDev: number; netnsIno: number; mntns: number };
  /** Command names of every process seen (for checks like "is systemd-networkd running"). */
  comms: Set<string>;
  skipped: number;
}

export interface CollectOptions {
  /** Record holders of this inode only (the sweep itself still visits every process). */
  ino?: number;
  /** Names directories to read (default NAME_DIRS). */
  nameDirs?: string[];
}

interface PidInfo {
  pid: number;
  comm: string;
  /** Network namespace inode -> the threads in it. */
  threads: Map<number, number[]>;
  threadCount: number;
  fds: Array<{ fd: number; ino: number }>;
  /** Fds whose link is a path, which a namespace opened through a bind mount also shows. */
  pathFds: Array<{ fd: number; target: string }>;
  mntns: number | null;
  root: string | null;
}

async function orSkip<T>(p: Promise<T>, onSkip: () => void): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (isSkippable(e)) {
      onSkip();
      return null;
    }
    throw e;
  }
}

async function readPid(pid: number, skip: () => void): Promise<PidInfo | null> {
  const base = `/proc/${pid}`;
  const comm = await orSkip(fsp.readFile(`${base}/comm`, 'utf8'), skip);
  if (comm === null) return null;
  const tids = (await orSkip(fsp.readdir(`${base}/task`), skip)) ?? [];
  const threads = new Map<number, number[]>();
  const nets = await Promise.all(tids.map((tid) => orSkip(fsp.readlink(`${base}/task/${tid}/ns/net`), skip)));
  nets.forEach((link, i) => {
    const ino = link === null ? null : nsInode(link);
    if (ino === null) return;
    const list = threads.get(ino) ?? [];
    list.push(Number(tids[i]));
    threads.set(ino, list);
  });
  const [mnt, root, fdNames] = await Promise.all([
    orSkip(fsp.readlink(`${base}/ns/mnt`), skip),
    orSkip(fsp.readlink(`${base}/root`), skip),
    orSkip(fsp.readdir(`${base}/fd`), skip),
  ]);
  const fds: PidInfo['fds'] = [];
  const pathFds: PidInfo['pathFds'] = [];
  if (fdNames) {
    const targets = await Promise.all(fdNames.map((fd) => fsp.readlink(`${base}/fd/${fd}`).catch(() => null)));
    targets.forEach((target, i) => {
      const ino = target === null ? null : nsInode(target);
      if (ino !== null) fds.push({ fd: Number(fdNames[i]), ino });
      else if (target?.startsWith('/')) pathFds.push({ fd: Number(fdNames[i]), target });
    });
  }
  return { pid, comm: comm.trimEnd(), threads, threadCount: tids.length, fds, pathFds, mntns: mnt === null ? null : nsInode(mnt, 'mnt'), root };
}

/**
 * A namespace opened through a bind mount (`exec 3</run/netns/NAME`, a
 * daemon's handle) is an fd whose link reads as the mount point, or as '/'
 * once that mount is detached (`ip netns del`), not as 'net:[INO]'. Those
 * fds are stat()ed, which follows them without opening anything: an nsfs
 * inode is a namespace. Only links that can be such an fd are looked at
 * (never every open file, which could be on a hung network filesystem).
 */
async function nsfsPathFds(infos: PidInfo[], mountPoints: Set<string>, nsfsDev: number): Promise<Array<FdHolder & { ino: number }>> {
  const out: Array<FdHolder & { ino: number }> = [];
  const wanted = infos.flatMap((p) => p.pathFds.filter((f) => f.target === '/' || mountPoints.has(f.target)).map((f) => ({ p, fd: f.fd })));
  await mapLimit(wanted, PID_CONCURRENCY, async ({ p, fd }) => {
    const path = `/proc/${p.pid}/fd/${fd}`;
    const st = await fsp.stat(path).catch(() => null);
    if (st && st.dev === nsfsDev) out.push({ pid: p.pid, comm: p.comm, fd, path, ino: st.ino });
  });
  return out;
}

/** The sweep. Never opens a namespace, so it never becomes a holder itself. */
export async function collectHolders(opts: CollectOptions = {}): Promise<Collected> {
  let skipped = 0;
  const skip = () => void skipped++;
  const [selfNet, selfMnt] = await Promise.all([fsp.stat('/proc/self/ns/net'), fsp.readlink('/proc/self/ns/mnt')]);
  // nsfs is one internal mount: every namespace file has its device number.
  const nsfsDev = selfNet.dev;
  const byIno = new Map<number, RawNetns>();
  const entry = (ino: number): RawNetns | null => {
    if (opts.ino !== undefined && ino !== opts.ino) return null;
    let e = byIno.get(ino);
    if (!e) byIno.set(ino, (e = { dev: nsfsDev, ino, processes: [], mounts: [], fds: [], names: [] }));
    return e;
  };

  const pids = await listPids();
  const infos = (await mapLimit(pids, PID_CONCURRENCY, (pid) => readPid(pid, skip))).filter((x): x is PidInfo => x !== null);
  const comms = new Set<string>();
  for (const p of infos) {
    comms.add(p.comm);
    for (const [ino, tids] of p.threads) {
      const holder: ProcessHolder = { pid: p.pid, comm: p.comm, tids, allThreads: tids.length === p.threadCount, path: `/proc/${p.pid}/task/${tids[0]}/ns/net` };
      entry(ino)?.processes.push(holder);
    }
    for (const { fd, ino } of p.fds) {
      const holder: FdHolder = { pid: p.pid, comm: p.comm, fd, path: `/proc/${p.pid}/fd/${fd}` };
      entry(ino)?.fds.push(holder);
    }
  }

  // Processes sharing a mount namespace and a root see the same mounts: read
  // one mountinfo per (mount namespace, root), falling back to the next
  // process of the group if the first one exits under us.
  const groups = new Map<string, PidInfo[]>();
  for (const p of infos) {
    if (p.mntns === null) continue;
    const key = `${p.mntns} ${p.root ?? ''}`;
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  const ourMntns = nsInode(selfMnt, 'mnt') ?? -1;
  const seenMounts = new Set<string>();
  const mountPoints = new Set<string>();
  await mapLimit([...groups.values()], 8, async (members) => {
    for (const p of members) {
      const text = await orSkip(fsp.readFile(`/proc/${p.pid}/mountinfo`, 'utf8'), skip);
      if (text === null) continue;
      for (const m of netnsMounts(text)) {
        const key = `${p.mntns}:${m.mountId}`;
        if (seenMounts.has(key)) continue;
        seenMounts.add(key);
        mountPoints.add(m.mountPoint);
        const holder: MountHolder = {
          pid: p.pid, comm: p.comm, mntns: p.mntns!, ours: p.mntns === ourMntns, mountId: m.mountId, mountPoint: m.mountPoint, path: viaRoot(p.pid, m.mountPoint),
        };
        entry(nsInode(m.root)!)?.mounts.push(holder);
      }
      return;
    }
  });

  // Names are read last: listing opens each name briefly, and those fds of
  // ours must not show up as holders in the sweep above.
  const stale: StaleName[] = [];
  for (const dir of opts.nameDirs ?? NAME_DIRS) {
    let list: Awaited<ReturnType<typeof Netns.list>>;
    try {
      list = await Netns.list({ runDir: dir });
    } catch (e) {
      // A directory we may not read, or that is not a directory: nothing named there for us.
      if (!isSkippable(e)) throw e;
      skip();
      continue;
    }
    for (const n of list) {
      const name = { name: n.name, dir, path: n.path };
      if (!n.valid || n.id === undefined) {
        stale.push({ ...name, reason: n.reason ?? 'not a network namespace' });
        continue;
      }
      entry(Number(n.id.split(':')[1]))?.names.push(name);
    }
  }

  // Fds opened through a bind mount: a network namespace's when its inode is
  // one (the caller's, or one the sweep saw as a network namespace); the
  // others are left to the caller to open and check (scanNamespaces does).
  const unverified: Array<FdHolder & { ino: number }> = [];
  const known = new Set(byIno.keys());
  for (const { ino, ...holder } of await nsfsPathFds(infos, mountPoints, nsfsDev)) {
    if (opts.ino !== undefined ? ino === opts.ino : known.has(ino)) entry(ino)?.fds.push(holder);
    else if (opts.ino === undefined) unverified.push({ ...holder, ino });
  }

  for (const e of byIno.values()) {
    e.processes.sort((a, b) => a.pid - b.pid);
    e.fds.sort((a, b) => a.pid - b.pid || a.fd - b.fd);
    e.mounts.sort((a, b) => Number(b.ours) - Number(a.ours) || a.mntns - b.mntns || a.mountId - b.mountId);
  }
  return { byIno, unverified, stale, self: { netnsDev: nsfsDev, netnsIno: selfNet.ino, mntns: ourMntns }, comms, skipped };
}
