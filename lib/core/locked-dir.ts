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
import { resolve } from 'node:path';
import { transport, type NativeLockedDir, type NativeLockedDirChange, type NativeLockedDirEntry, type NativeLockedDirOutcome } from './native';

export type LockedDirEntry = NativeLockedDirEntry;
export type LockedDirChange = NativeLockedDirChange;
export type LockedDirOutcome = NativeLockedDirOutcome;

/** A shared directory, its lock held, as it was when the lock was granted. */
export interface LockedDir {
  readonly path: string;
  readonly entries: readonly LockedDirEntry[];
  /** Runs changes (in order) under the lock; the lock stays held. */
  apply(changes: LockedDirChange[]): Promise<LockedDirOutcome[]>;
  /** Runs changes, then gives the lock back (also when a change fails). */
  applyAndRelease(changes: LockedDirChange[]): Promise<LockedDirOutcome[]>;
  /** Gives the lock back. Calling it again does nothing. */
  release(): Promise<void>;
}

const queues = new Map<string, Promise<void>>();

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
    const tried = await transport().lockedDirOpen(resolve(parent), name, lockName, false);
    opened = 'busy' in tried ? await transport().lockedDirOpen(resolve(parent), name, lockName, true) : tried;
  } catch (e) {
    done();
    throw e;
  }
  const { dirFd, lockFd, entries } = opened;
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
    entries,
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
