// A directory of small files shared with other programs that serialize on
// an flock of a file inside it (the reference CNI host-local plugin's store:
// <dataDir>/<network>/lock). A free lock is taken, and the store read, on a
// general thread; a held one is waited for on the addon's lock thread, never
// on the JS thread. The directory and its files are reached
// through the directory's fd without following symbolic links
// (native/locked_dir.h).
//
// Within this process, takers of one directory queue here first, so at most
// one of them waits in flock at a time: the lock thread is then held up only
// by other processes' holders, never by a holder of our own that needs it.
//
// The entries of the last reading of each directory are kept here (`views`)
// for the next: the addon then sends only what changed since (new or changed
// entries, and the names gone), and an entry that did not change is the same
// object as before (frozen), so what a caller derived from it can be kept
// too (lib/ops/cni/host-local/store.ts, which is told which names changed).
// A store of 200 leases read by every ADD costs the files that changed, not
// 200 objects made and parsed again; in a process that reads it again and
// again (an engine), the addon learns what changed from the directory's
// events, without listing it (native/store_file_cache.h).
import { resolve } from 'node:path';
import { transport, type NativeLockedDir, type NativeLockedDirChange, type NativeLockedDirEntry, type NativeLockedDirOutcome } from './native';

/** An entry of a reading; unchanged entries are shared between readings, so frozen. */
export type LockedDirEntry = Readonly<NativeLockedDirEntry>;
export type LockedDirChange = NativeLockedDirChange;
export type LockedDirOutcome = NativeLockedDirOutcome;

/** A shared directory, its lock held, as it was when the lock was granted. */
export interface LockedDir {
  readonly path: string;
  /** Every entry, by name. */
  readonly entries: ReadonlyMap<string, LockedDirEntry>;
  /**
   * What changed since the reading before (`reading`, this process's last
   * of the directory): the names of entries new, changed or gone. Null when
   * there is no such reading to compare with.
   */
  readonly changed: { readonly since: number; readonly names: readonly string[] } | null;
  /** This reading's number (0: not remembered), for a later reading's `changed.since`. */
  readonly reading: number;
  /** Runs changes (in order) under the lock; the lock stays held. */
  apply(changes: LockedDirChange[]): Promise<LockedDirOutcome[]>;
  /** Runs changes, then gives the lock back (also when a change fails). */
  applyAndRelease(changes: LockedDirChange[]): Promise<LockedDirOutcome[]>;
  /** Gives the lock back. Calling it again does nothing. */
  release(): Promise<void>;
}

const queues = new Map<string, Promise<void>>();

/** A directory's entries as of the addon's reading number `reading`. */
interface View {
  reading: number;
  entries: Map<string, LockedDirEntry>;
}

/** Directories remembered at once, as many as the addon remembers (native/store_file_cache.cc). */
const MAX_VIEWS = 64;
/**
 * Entries with more data than this are not remembered: the addon keeps no
 * file over 4 KiB (native/store_file_cache.h), so it never names one as
 * unchanged (a file's UTF-16 length never exceeds its size in bytes).
 */
const MAX_KEPT_DATA = 4096;
const views = new Map<string, View>();

/** A reading of `path`, the view it was built on updated with what the addon sent. */
interface Entries {
  entries: ReadonlyMap<string, LockedDirEntry>;
  changed: { since: number; names: string[] } | null;
}

/**
 * The entries of a reading: all those sent (whole), or the view of the
 * reading before with what changed since (each entry sent that is the same
 * as before stays the object of the reading before). Remembered for the
 * next reading of `path`.
 */
function entriesOf(path: string, before: View | undefined, opened: NativeLockedDir): Entries {
  views.delete(path); // until this reading is whole: a reading that fails here leaves none to build on
  let now: Map<string, LockedDirEntry>;
  let changed: Entries['changed'] = null;
  if (opened.whole) now = new Map();
  else {
    // The addon answers so only to the `since` asked for, which is this view's.
    if (!before) throw new Error(`internal: the addon sent ${path} as changes since a reading this process does not hold`);
    now = new Map(before.entries);
    changed = { since: before.reading, names: [] };
    if (opened.gone !== '') {
      for (const name of opened.gone.split('/')) {
        now.delete(name);
        changed.names.push(name);
      }
    }
  }
  for (const e of opened.entries) {
    const old = before?.entries.get(e.name);
    const same = old !== undefined && old.type === e.type && old.data === e.data;
    now.set(e.name, same ? old : Object.freeze(e));
    if (changed && !same) changed.names.push(e.name);
  }
  if (opened.reading > 0) {
    // An entry too big to keep is sent with every reading: left out of the view, not of this reading.
    let view = now;
    for (const e of opened.entries) {
      if (e.data !== undefined && e.data.length > MAX_KEPT_DATA) {
        if (view === now) view = new Map(now);
        view.delete(e.name);
      }
    }
    if (views.size >= MAX_VIEWS) views.clear();
    views.set(path, { reading: opened.reading, entries: view });
  }
  return { entries: now, changed };
}

/** Waits for, then holds, the lock of parent/name (both made when missing). */
export async function openLockedDir(parent: string, name: string, lockName: string): Promise<LockedDir> {
  const path = `${resolve(parent)}/${name}`;
  const before = queues.get(path) ?? Promise.resolve();
  let leave!: () => void;
  const mine = new Promise<void>((r) => (leave = r));
  const tail = before.then(() => mine);
  queues.set(path, tail);
  const done = () => {
    leave();
    if (queues.get(path) === tail) queues.delete(path);
  };
  await before;
  let opened: NativeLockedDir;
  try {
    // Tried first where no lock request waits behind it; only a lock another
    // process holds is waited for on the lock thread. Takers of our own never
    // overtake each other: they queue above.
    const since = views.get(path)?.reading ?? 0;
    const tried = await transport().lockedDirOpen(resolve(parent), name, lockName, false, since);
    opened = 'busy' in tried ? await transport().lockedDirOpen(resolve(parent), name, lockName, true, since) : tried;
  } catch (e) {
    done();
    throw e;
  }
  const { dirFd, lockFd } = opened;
  let read: Entries;
  try {
    read = entriesOf(path, views.get(path), opened);
  } catch (e) {
    await transport().fdClose(lockFd).catch(() => undefined);
    await transport().fdClose(dirFd).catch(() => undefined);
    done();
    throw e;
  }
  let held = true;
  const finish = async (changes: LockedDirChange[]) => {
    if (!held) throw new Error(`the lock of ${path} was already given back`);
    held = false;
    try {
      return await transport().lockedDirApply(dirFd, lockFd, changes, true, path);
    } finally {
      done();
    }
  };
  return {
    path,
    entries: read.entries,
    changed: read.changed,
    reading: opened.reading,
    apply: (changes) => {
      if (!held) return Promise.reject(new Error(`the lock of ${path} was already given back`));
      return transport().lockedDirApply(dirFd, lockFd, changes, false, path);
    },
    applyAndRelease: finish,
    // Nothing to change: the fds are closed where we are, as a state
    // file's lock is (closing never waits), not on a thread: no trip.
    release: async () => {
      if (!held) return;
      held = false;
      try {
        await transport().fdClose(lockFd);
        await transport().fdClose(dirFd);
      } finally {
        done();
      }
    },
  };
}
