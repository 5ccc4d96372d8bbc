// deleteNamedNetns(): `ip netns delete` that never lies. iproute2 unmounts
// and unlinks the name and exits 0 even when an fd, a process, a socket or a
// copy of the mount elsewhere keeps the namespace (and its links and
// addresses) alive. We remove the name the same way (unlinking also detaches
// copies of the mount in other mount namespaces), through the directory's
// fd: a name that is a symbolic link, or a bind mount of another kind of
// namespace, is refused before anything changes (Netns.remove).
//
// Then: is the namespace really gone? The holders /proc shows (processes,
// fds, mounts in any mount namespace) are looked for without holding it. A
// socket created inside the namespace holds it too, and nothing in /proc
// says which namespace a socket belongs to. For that, the namespace's nsfs
// file handle (taken before the name went, Linux 6.18) is asked: the kernel
// reopens a handle only while its namespace exists, and the handle itself
// holds nothing. Alive with no visible holder: a socket (or another holder
// /proc cannot show), said as such, exit 4.
import { PipewrightError } from '../../core/errors';
import { DEFAULT_RUN_DIR, Netns, netnsName } from '../../core/netns';
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
  /**
   * True when the kernel confirmed the namespace no longer exists; false
   * when no holder is visible but this kernel cannot rule out a hidden one
   * (no nsfs file handles: Linux < 6.18, or a kernel that does not reopen
   * them for this process, as some do for rootless callers).
   */
  confirmed: boolean;
  waitedMs: number;
}

/** Thrown when the name is gone but something still keeps the namespace alive. */
export class NetnsBusyError extends PipewrightError {
  readonly holders: HoldersReport;
  /** Alive although /proc shows no holder: most likely a socket created inside it. */
  readonly hidden: boolean;
  constructor(name: string, report: HoldersReport, hidden = false) {
    const lines = holderLines(report);
    super(
      'ERR_PW_NETNS_BUSY',
      hidden
        ? `the name '${name}' was removed, but namespace ${report.id} is still alive; holder not visible from /proc — likely a socket` +
            ' created inside it (a program that entered the namespace, opened a socket and left); it goes when that socket is closed'
        : `the name '${name}' was removed, but namespace ${report.id} is still alive, held by ${lines.join('; ')}` +
            ` (to release it: ${report.releases.map((r) => r.action).join('; ')})`,
      { field: 'name', value: name },
    );
    this.name = 'NetnsBusyError';
    this.holders = report;
    this.hidden = hidden;
  }
}

export async function deleteNamedNetns(name: string, opts: DeleteNetnsOptions = {}): Promise<DeleteNetnsResult> {
  const runDir = opts.runDir ?? DEFAULT_RUN_DIR;
  netnsName('name', name);
  const timeoutMs = opts.timeoutMs ?? 2000;
  const removed = await Netns.remove(name, { runDir });
  if (removed.stale || removed.ino === undefined) return { name, path: removed.path, stale: true, confirmed: true, waitedMs: 0 };

  const report = await waitReleased({ ino: removed.ino, dev: removed.dev!, ...(removed.handle !== undefined ? { handle: removed.handle } : {}) }, timeoutMs);
  if (report.alive) throw new NetnsBusyError(name, report, report.hidden === true);
  // Without a handle nothing rules out a socket holding it: not confirmed.
  return { name, path: removed.path, id: report.id, stale: false, confirmed: removed.handle !== undefined && report.confirmed !== false, waitedMs: report.waitedMs };
}
