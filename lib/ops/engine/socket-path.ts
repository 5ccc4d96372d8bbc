// Taking the engine's socket path: a socket file left by an engine that
// died (nothing answers on it) is stale and removed; one that answers
// belongs to a running engine, and anything that is not a socket is not
// ours to remove. At shutdown the file is removed only if it is still the
// one this engine made (same inode): a successor may have made its own.
import { promises as fsp } from 'node:fs';
import { connect } from 'node:net';
import { PipewrightError } from '../../core/errors';

export interface SocketClaim {
  /** Notes the inode of the socket just made. */
  recordMade(): Promise<void>;
  /** Removes the socket file if it is still ours. */
  release(): Promise<void>;
}

/** Whether something accepts connections on the socket at path. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function lstatOrNull(path: string) {
  try {
    return await fsp.lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function claimSocketPath(path: string, log: (line: string) => void): Promise<SocketClaim> {
  const st = await lstatOrNull(path);
  if (st) {
    if (!st.isSocket()) throw new PipewrightError('ERR_PW_CONFLICT', `${path} exists and is not a socket: not replaced`, { field: 'socket', value: path });
    if (await answers(path)) throw new PipewrightError('ERR_PW_CONFLICT', `an engine already answers on ${path}`, { field: 'socket', value: path });
    await fsp.unlink(path);
    log(`removed the stale socket ${path} (nothing answered on it)`);
  }
  let made: string | null = null;
  return {
    async recordMade() {
      const s = await lstatOrNull(path);
      made = s ? `${s.dev}:${s.ino}` : null;
    },
    async release() {
      const s = await lstatOrNull(path);
      if (s && made === `${s.dev}:${s.ino}`) await fsp.unlink(path).catch(() => {});
      made = null;
    },
  };
}
