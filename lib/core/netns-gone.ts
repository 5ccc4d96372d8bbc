// Netns.delete({ wait: true }): resolve only once the kernel has destroyed
// the namespace. Dropping the last reference (the name's mount, our fd) only
// queues the destruction: the kernel's cleanup runs asynchronously, and the
// namespace's links, including the other ends of its veths in other
// namespaces, are still listed for a moment (0.06-0.1 s here, once seconds).
//
// Seen from an observing namespace (the caller's, or a given handle's),
// destruction is two things the kernel reports there: the id it gave the
// namespace is dropped (RTM_DELNSID; we make sure there is one first), and
// every link there whose other end was inside it is deleted (RTM_DELLINK).
// Both are watched before the reference is dropped, so nothing is missed.
//
// Netns sits below Handle (a Handle is opened on a Netns), so without a
// handle to observe from this file makes its own observer from a socket and
// a Watcher, the parts Handle is built from, rather than import Handle.
import { transport } from './native';
import type { OpArgs, OpCall, OpName, OpResult } from './op-types';
import { PipewrightError, isNetlinkError } from './errors';
import type { Netns } from './netns';
import { Watcher } from './api/watch';
import type { Handle } from './handle';
import type { Link, WatchKind } from './types';

/** What watching needs of a handle. */
interface Observer {
  run<K extends OpName>(op: K, args: OpArgs[K]): Promise<OpResult[K]>;
  watch(kinds: WatchKind[]): Watcher;
  link: { list(): Promise<Link[]>; find(index: number): Promise<Link | null> };
  close(): Promise<void>;
}

/** An observer in the current namespace: one socket and one watcher, as Handle.open() would make. */
async function currentNamespaceObserver(): Promise<Observer> {
  const sock = await transport().openSocket(-1);
  const watchers = new Set<Watcher>();
  const run = async <K extends OpName>(op: K, args: OpArgs[K]): Promise<OpResult[K]> =>
    (await sock.run([{ op, args } as OpCall]))[0] as OpResult[K];
  return {
    run,
    watch(kinds) {
      const w: Watcher = new Watcher(-1, kinds, {}, () => watchers.delete(w));
      watchers.add(w);
      return w;
    },
    link: {
      list: () => run('link.list', {}),
      find: async (index) => (await run('link.get', { index, orNull: true })) ?? null,
    },
    async close() {
      for (const w of [...watchers]) await w.close();
      sock.close();
    },
  };
}

export interface GoneWatch {
  /** Resolves once the namespace is destroyed; ERR_PW_NETNS_BUSY if something else still holds it at the deadline. */
  wait(timeoutMs: number): Promise<void>;
  /** Stops watching (after wait, or when the release failed). */
  close(): Promise<void>;
}

async function nsidFor(h: Observer, ns: Netns): Promise<number | null> {
  const get = async () => (await h.run('netns.nsid', { fd: ns.fd })).nsid;
  const id = await get();
  if (id !== null) return id;
  try {
    await h.run('netns.nsidAssign', { fd: ns.fd });
  } catch (e) {
    // EEXIST: given one meanwhile (by the kernel, for a new veth). Anything
    // else (an observer that is the namespace itself): no id to wait for.
    if (!isNetlinkError(e, 'EEXIST')) return null;
  }
  return get();
}

/** Starts watching `ns` from `from` (default: the current namespace); call before dropping the last reference. */
export async function watchGone(ns: Netns, from?: Handle): Promise<GoneWatch> {
  const h: Observer = from ?? (await currentNamespaceObserver());
  let w: Watcher | null = null;
  const close = async () => {
    await w?.close();
    if (!from) await h.close();
  };
  try {
    w = h.watch(['link', 'nsid']);
    await w.ready;
    const nsid = await nsidFor(h, ns);
    const peers = nsid === null ? [] : (await h.link.list()).filter((l) => l.linkNetnsId === nsid).map((l) => l.index);
    const label = ns.describe();
    const watcher = w;
    return {
      close,
      async wait(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        let idDropped = nsid === null;
        const left = new Set(peers);
        try {
          for (;;) {
            // Links are re-read rather than taken from events: a port that
            // leaves a bridge also yields a "del", and events can be lost.
            for (const index of [...left]) if ((await h.link.find(index)) === null) left.delete(index);
            if (idDropped && left.size === 0) return;
            const ms = deadline - Date.now();
            const ev = ms <= 0 ? null : await watcher.waitFor(
              (e) => e.kind === 'overrun' || (e.kind === 'nsid' && e.action === 'del' && e.nsid === nsid) || (e.kind === 'link' && e.action === 'del' && left.has(e.link.index)),
              ms,
              { keepOpen: true },
            ).catch(() => null);
            if (!ev)
              throw new PipewrightError(
                'ERR_PW_NETNS_BUSY',
                `namespace ${label} (${ns.id}) is still alive ${timeoutMs} ms after this process let go of it: something else holds it (see 'pipewright netns holders ${ns.ino}')`,
                { field: 'netns', value: ns.id },
              );
            if (ev.kind === 'nsid') idDropped = true;
            // Events were lost, maybe the id's removal: ask whether it is still given.
            else if (ev.kind === 'overrun' && nsid !== null && !idDropped) idDropped = await h.run('netns.nsid', { nsid }).then(() => false, (e) => isNetlinkError(e, 'ENOENT'));
          }
        } finally {
          await close();
        }
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
