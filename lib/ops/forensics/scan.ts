// scanNamespaces(): every network namespace on the host, de-duplicated by
// inode, with who holds it and what is inside. The /proc sweep (collect.ts)
// finds the holders without opening anything; then each namespace is opened
// once, through one of its own handles (a thread's ns link, a name, a mount
// reached through the holding process's root, another process's fd), for one
// link dump and one address dump. Our own mount namespace never changes.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { Collected, collectHolders, RawNetns } from './collect';
import { mapLimit } from './procfs';
import type { FdHolder, NetnsAddress, NetnsScan, ScannedNetns } from './types';

export interface ScanOptions {
  /**
   * Also list namespaces that no process runs in and that have no name:
   * those held only by open fds or by nsfs mounts (in any mount namespace).
   * Without it the list is the live ones: a process inside, or a name.
   */
  all?: boolean;
  /** Keep every link and address object on each entry (find, doctor and topology need them). */
  detail?: boolean;
  /** Namespaces opened at once (default 8). */
  concurrency?: number;
  /** Names directories (default /run/netns and /var/run/docker/netns). */
  nameDirs?: string[];
}

/** Paths that open the namespace, most stable first. */
function candidatePaths(e: RawNetns): string[] {
  return [
    ...e.names.map((n) => n.path),
    ...e.processes.map((p) => p.path),
    ...e.mounts.filter((m) => m.ours).map((m) => m.path),
    ...e.fds.map((f) => f.path),
    ...e.mounts.filter((m) => !m.ours).map((m) => m.path),
  ];
}

function addressesOf(links: Map<number, string>, addrs: Awaited<ReturnType<Handle['addr']['list']>>): NetnsAddress[] {
  return addrs.map((a) => ({ ifname: links.get(a.index) ?? String(a.index), index: a.index, address: a.address, prefixLen: a.prefixLen, family: a.family }));
}

/** Opens the namespace through its first working handle and reads its links and addresses. */
async function inspect(e: RawNetns, out: ScannedNetns, detail: boolean): Promise<void> {
  let lastError = 'no path leads to it';
  for (const path of candidatePaths(e)) {
    let ns: Netns;
    try {
      ns = await Netns.open({ path });
    } catch (err) {
      lastError = `${path}: ${(err as Error).message}`;
      continue; // the holder went away while we looked: try the next one
    }
    try {
      // A recycled pid or fd number could lead elsewhere: trust only the inode.
      if (ns.ino !== e.ino) {
        lastError = `${path} now leads to net:[${ns.ino}]`;
        continue;
      }
      const h = await Handle.open(ns);
      try {
        const [links, addrs] = await Promise.all([h.link.list(), h.addr.list()]);
        out.interfaces = links.length;
        out.addresses = addressesOf(new Map(links.map((l) => [l.index, l.name])), addrs);
        out.openedVia = path;
        if (detail) {
          out.links = links;
          out.addrs = addrs;
        }
        return;
      } finally {
        await h.close();
      }
    } catch (err) {
      lastError = `${path}: ${(err as Error).message}`;
    } finally {
      await ns.close();
    }
  }
  out.error = lastError;
}

/** Errors that mean an fd went away (or now holds something else) while we looked: nothing to say about its namespace. */
function vanished(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'ERR_PW_NOT_A_NETNS';
}

/**
 * Adds the namespaces only the sweep's unverified fds hold (opened through a
 * bind mount since removed: `ip netns del` while a program keeps its fd),
 * each once it opens as a network namespace with the same inode. One that
 * could not be opened for any other reason (too many open files, a refusal)
 * is not absent: it is reported as uncertain, and gc leaves alone every link
 * whose guest it might be.
 */
async function verifyFds(c: Collected): Promise<Map<number, string>> {
  const uncertain = new Map<number, string>();
  const byIno = new Map<number, FdHolder[]>();
  for (const { ino, ...fd } of c.unverified) byIno.set(ino, [...(byIno.get(ino) ?? []), fd]);
  for (const [ino, fds] of byIno) {
    if (c.byIno.has(ino)) continue;
    let failure: string | null = null;
    for (const fd of fds) {
      let ns: Netns;
      try {
        ns = await Netns.open({ path: fd.path });
      } catch (e) {
        if (!vanished(e)) failure = `${fd.path}: ${(e as Error).message}`;
        continue; // the next fd may still open it
      }
      const same = ns.ino === ino;
      await ns.close();
      if (same) {
        c.byIno.set(ino, { dev: c.self.netnsDev, ino, processes: [], mounts: [], fds, names: [] });
        failure = null;
        break;
      }
      // The fd number was reused for another namespace: try the next fd.
    }
    if (failure !== null) uncertain.set(ino, failure);
  }
  return uncertain;
}

export async function scanNamespaces(opts: ScanOptions = {}): Promise<NetnsScan> {
  const started = performance.now();
  const c = await collectHolders(opts.nameDirs ? { nameDirs: opts.nameDirs } : {});
  const uncertain = await verifyFds(c);
  const selfId = `${c.self.netnsDev}:${c.self.netnsIno}`;
  const entries: ScannedNetns[] = [];
  for (const e of c.byIno.values()) {
    const current = e.dev === c.self.netnsDev && e.ino === c.self.netnsIno;
    const orphan = e.processes.length === 0;
    if (!opts.all && orphan && e.names.length === 0 && !current) continue;
    entries.push({
      id: `${e.dev}:${e.ino}`,
      dev: e.dev,
      ino: e.ino,
      processes: e.processes,
      mounts: e.mounts,
      fds: e.fds,
      names: e.names,
      flags: {
        orphan,
        unreachableFromHere: orphan && e.fds.length === 0 && e.mounts.length > 0 && e.mounts.every((m) => !m.ours),
        current,
      },
    });
  }
  entries.sort((a, b) => a.ino - b.ino);
  await mapLimit(entries, opts.concurrency ?? 8, (out) => inspect(c.byIno.get(out.ino)!, out, opts.detail === true));
  return {
    namespaces: entries,
    stale: c.stale,
    self: { netns: selfId, mntns: c.self.mntns },
    skipped: c.skipped,
    uncertain: [...uncertain].map(([ino, why]) => ({ id: `${c.self.netnsDev}:${ino}`, why })),
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** A ref as users write it: 'dev:ino', an inode, 'net:[ino]'. Null when it is none of those. */
export function parseNetnsId(ref: string | number): { dev?: number; ino: number } | null {
  if (typeof ref === 'number') return Number.isSafeInteger(ref) && ref > 0 ? { ino: ref } : null;
  let m = /^(\d+):(\d+)$/.exec(ref);
  if (m) return { dev: Number(m[1]), ino: Number(m[2]) };
  m = /^(?:net:\[)?(\d+)\]?$/.exec(ref);
  return m ? { ino: Number(m[1]) } : null;
}
