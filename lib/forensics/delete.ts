// deleteNamedNetns(): `ip netns delete` that never lies. iproute2 unmounts
// and unlinks the name and exits 0 even when an fd, a process or a copy of
// the mount elsewhere keeps the namespace (and its links and addresses)
// alive. We remove the name the same way (unlinking also detaches copies of
// the mount in other mount namespaces), then look for whatever still holds
// the namespace, without holding it ourselves: its inode is noted from a
// stat of the name, never from an fd we keep.
// Limit: a socket created inside the namespace holds it too, and nothing in
// /proc shows which namespace a socket belongs to (lsns cannot see it
// either); a namespace held only that way is reported gone.
import { stat } from 'node:fs/promises';
import { PipewrightError } from '../errors';
import { DEFAULT_RUN_DIR, Netns, netnsName } from '../netns';
import { holderLines, HoldersReport, waitReleased } from './holders';

export interface DeleteNetnsOptions {
  runDir?: string;
  /**
   * How long to wait for holders that are going away (a process exiting,
   * another tool's scan that has it open for a moment); default 2000 ms.
   */
  timeoutMs?: number;
}

export interface DeleteNetnsResult {
  name: string;
  path: string;
  /** "dev:ino" of the namespace that was behind the name; absent for a stale name. */
  id?: string;
  /** The name was a file left behind, not a namespace: only the file was removed. */
  stale: boolean;
  waitedMs: number;
}

/** Thrown when the name is gone but something still keeps the namespace alive. */
export class NetnsBusyError extends PipewrightError {
  readonly holders: HoldersReport;
  constructor(name: string, report: HoldersReport) {
    const lines = holderLines(report);
    super(
      'ERR_PW_NETNS_BUSY',
      `the name '${name}' was removed, but namespace ${report.id} is still alive, held by ${lines.join('; ')}` +
        ` (to release it: ${report.releases.map((r) => r.action).join('; ')})`,
      { field: 'name', value: name },
    );
    this.name = 'NetnsBusyError';
    this.holders = report;
  }
}

const NSFS_DEV_PROBE = '/proc/self/ns/net';

export async function deleteNamedNetns(name: string, opts: DeleteNetnsOptions = {}): Promise<DeleteNetnsResult> {
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  const path = `${runDir}/${netnsName('name', name)}`;
  const timeoutMs = opts.timeoutMs ?? 2000;
  // The identity of what the name leads to: stat follows the bind mount to
  // the nsfs inode. A name that is not on nsfs is stale: a file to remove.
  const [st, nsfs] = await Promise.all([stat(path).catch((e: NodeJS.ErrnoException) => e), stat(NSFS_DEV_PROBE)]);
  if (st instanceof Error) {
    if (st.code === 'ENOENT') throw new PipewrightError('ERR_PW_NETNS_NOT_FOUND', `no namespace named '${name}' in ${runDir}`, { field: 'name', value: name });
    throw st;
  }
  const isNs = st.dev === nsfs.dev;
  await Netns.remove(name, { runDir });
  if (!isNs) return { name, path, stale: true, waitedMs: 0 };

  const report = await waitReleased({ ino: st.ino, dev: st.dev }, timeoutMs);
  if (report.alive) throw new NetnsBusyError(name, report);
  return { name, path, id: report.id, stale: false, waitedMs: report.waitedMs };
}
