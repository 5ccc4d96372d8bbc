// The lock that keeps gc from racing attaches, one per host namespace:
// <stateDir>/locks/net-<dev>-<ino>. An attach holds it shared for its whole
// transaction (from its journal entry to its completion), so any number of
// attaches run at once; gc holds it exclusive only for its final re-check
// and delete, so nothing it deletes can be half-made by an attach at work.
// The wait runs on the addon's lock thread (native/file_lock.h), never on
// the JS thread; the kernel drops the lock when the fds close, also when
// the process dies.
import { lockSharedAndWriteStateFile, lockStateFile, type Release } from '../../core/state-files';

export type { Release };

export const LOCK_DIR = 'locks';

/** The lock file's name for a namespace id "dev:ino". */
export function lockName(netnsId: string): string {
  return `net-${netnsId.replace(':', '-')}`;
}

export function lockNamespace(netnsId: string, mode: 'shared' | 'exclusive'): Promise<Release> {
  return lockStateFile(LOCK_DIR, lockName(netnsId), mode === 'exclusive');
}

/**
 * Takes the namespace's lock shared and writes a journal file under it, in
 * one trip to the addon (an attach's first act: one hop instead of two).
 */
export function lockSharedAndWrite(netnsId: string, journalSub: string, file: string, data: string): Promise<Release> {
  return lockSharedAndWriteStateFile(LOCK_DIR, lockName(netnsId), journalSub, file, data);
}
