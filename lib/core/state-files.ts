// Files in pipewright's state directory (stateDir()): atomic, durable writes
// and advisory locks, done by the addon on its own threads through directory
// fds opened without following symbolic links (native/state_file.h,
// native/file_lock.h). The ownership journal and its locks use these; they
// never reach the native boundary themselves.
import { mkdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { transport } from './native';
import { stateDir } from './state-dir';

/** A file of a state subdirectory, with its contents. */
export interface StateFile {
  name: string;
  data: string;
  mtimeMs: number;
}

/** Writes stateDir/sub/name atomically and durably (temporary file, fsync, rename, fsync of the directory). */
export async function writeStateFile(sub: string, name: string, data: string): Promise<void> {
  await transport().stateFileWrite(stateDir(), sub, name, data);
}

/** Removes stateDir/sub/name; false when it was not there. */
export async function removeStateFile(sub: string, name: string): Promise<boolean> {
  return (await transport().stateFileRemove(stateDir(), sub, name)).removed;
}

/** The regular files of stateDir/sub whose names start with prefix ([] without the directory). */
export function listStateFiles(sub: string, prefix: string): Promise<StateFile[]> {
  return transport().stateFileList(stateDir(), sub, prefix);
}

/** Gives a lock back. Calling it again does nothing. */
export type Release = () => Promise<void>;

/** stateDir/sub/name, read by its name (the cost does not grow with the directory); null when it is not there. */
export function readStateFile(sub: string, name: string): Promise<StateFile | null> {
  return transport().stateFileRead(stateDir(), sub, name);
}

/** An advisory lock (flock) on stateDir/sub/name, waited for off the JS thread. */
export async function lockStateFile(sub: string, name: string, exclusive: boolean): Promise<Release> {
  const { fd, gateFd } = await transport().lockAcquire(stateDir(), sub, name, exclusive);
  return releaser(fd, gateFd);
}

/**
 * An exclusive lock on stateDir/sub/name if nobody holds it, else null
 * (never waits): what makes a process the only one of its kind.
 */
export async function tryLockStateFile(sub: string, name: string): Promise<Release | null> {
  try {
    const { fd, gateFd } = await transport().lockAcquire(stateDir(), sub, name, true, false);
    return releaser(fd, gateFd);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EWOULDBLOCK' || code === 'EAGAIN') return null;
    throw e;
  }
}

/** An exclusive lock whose files can go with it. */
export interface PrunableLock {
  release: Release;
  /**
   * Removes the lock file and its gate, then gives the lock back: for a lock
   * whose subject is gone, so its files do not pile up. Safe against takers
   * already waiting: one granted a file that lost its name takes the file of
   * that name instead (native/file_lock.h). Calling either again does nothing.
   */
  releaseAndRemove: Release;
}

/** lockStateFile (exclusive), given back with or without its files. */
export async function lockStateFilePrunable(sub: string, name: string): Promise<PrunableLock> {
  const { fd, gateFd } = await transport().lockAcquire(stateDir(), sub, name, true);
  return prunable(sub, name, fd, gateFd);
}

/**
 * lockStateFilePrunable, then readStateFile(fileSub, fileName) under the
 * lock, in one trip to the addon: a lock and the file it guards.
 */
export async function lockStateFilePrunableAndRead(sub: string, name: string, fileSub: string, fileName: string): Promise<{ lock: PrunableLock; file: StateFile | null }> {
  const { fd, gateFd, file } = await transport().lockAndRead(stateDir(), sub, name, fileSub, fileName);
  return { lock: prunable(sub, name, fd, gateFd), file };
}

function prunable(sub: string, name: string, fd: number, gateFd: number | undefined): PrunableLock {
  const release = releaser(fd, gateFd);
  let done = false;
  return {
    release: async () => {
      done = true;
      await release();
    },
    releaseAndRemove: async () => {
      if (done) return;
      done = true;
      try {
        // Unlinked while still held, the lock file first: a newcomer then makes a fresh one.
        await transport().stateFileRemove(stateDir(), sub, name);
        await transport().stateFileRemove(stateDir(), sub, `${name}.gate`);
      } finally {
        await release();
      }
    },
  };
}

/** lockStateFile (shared) then writeStateFile, in one trip to the addon; on failure nothing is held. */
export async function lockSharedAndWriteStateFile(lockSub: string, lockName: string, fileSub: string, fileName: string, data: string): Promise<Release> {
  const { fd } = await transport().lockAndWrite(stateDir(), lockSub, lockName, fileSub, fileName, data);
  return releaser(fd);
}

function releaser(fd: number, gateFd?: number): Release {
  const a = transport();
  let held = true;
  return async () => {
    if (!held) return;
    held = false;
    // Closing the fd is what releases a flock; it never waits.
    await a.fdClose(fd);
    if (gateFd !== undefined) await a.fdClose(gateFd);
  };
}

/** A watch on a state subdirectory; close() ends it. */
export interface StateDirWatch {
  close(): void;
}

/**
 * Calls onChange with a file's name whenever something in stateDir/sub
 * changes (inotify, no polling), making the directory (mode 0700, as the addon does) when it is
 * missing, so that the first file written into it is seen too.
 */
export function watchStateDir(sub: string, onChange: (file: string | null) => void): StateDirWatch {
  const root = stateDir();
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    mkdirSync(join(root, sub), { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // The file's name when inotify gives it; null when it does not (then anything may have changed).
  const w = watch(join(root, sub), { persistent: false }, (_event, file) => onChange(typeof file === 'string' ? file : null));
  w.on('error', () => onChange(null));
  return { close: () => w.close() };
}
