// Letting go of a namespace that only nsfs mounts keep alive (gc, FIELD-NOTES
// §3), without ever touching what is not a namespace name. A mount is
// released only when its mount point is a name inside a namespace directory
// (/run/netns of its own mount namespace): the name is unlinked through that
// directory's fd (our mount namespace: unmounted first), reached without
// following any symbolic link — in another mount namespace beneath
// /proc/PID/root with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) — and
// only after the entry is checked to be that very namespace (dev:ino).
// Unlinking a name detaches its mount in every mount namespace.
// Any other mount point (a bind mount over a user's file, a directory,
// Docker's netns directory, which is Docker's to manage) is reported with
// the command that releases it, and never unmounted or unlinked by us.
import { basename, dirname } from 'node:path';
import { Netns } from '../../core/netns';
import type { MountHolder, ScannedNetns } from './types';

/** Where namespace names live in a mount namespace: iproute2's (mountinfo shows the resolved path). */
export const NAMESPACE_DIRS = ['/run/netns', '/var/run/netns'];
/** Docker's: read by the scans, never changed by pipewright. */
export const READ_ONLY_NAME_DIRS = ['/run/docker/netns', '/var/run/docker/netns'];

/** A mount gc leaves alone, with why and what would release it. */
export interface KeptMount {
  mountPoint: string;
  /** The mount namespace it is in; absent when it is ours. */
  mntns?: number;
  pid?: number;
  why: string;
  command: string;
}

export interface MountRelease {
  /** Names unlinked (or, in a dry run, that would be). */
  released: string[];
  kept: KeptMount[];
}

/** The name and directory when a mount point is a namespace name in a namespace directory. */
export function namespaceNameOf(mountPoint: string): { dir: string; name: string } | null {
  const dir = dirname(mountPoint);
  const name = basename(mountPoint);
  if (!NAMESPACE_DIRS.includes(dir) || name === '' || name === '.' || name === '..') return null;
  return { dir, name };
}

export function mountLabel(m: MountHolder): string {
  return m.ours ? m.mountPoint : `${m.mountPoint} in mnt:[${m.mntns}]`;
}

/** The command that releases a mount by hand, in its own mount namespace. */
export function releaseCommand(m: MountHolder): string {
  return m.ours ? `umount -l ${m.mountPoint}` : `nsenter -t ${m.pid} -m umount -l ${m.mountPoint}`;
}

function kept(m: MountHolder, why: string): KeptMount {
  return { mountPoint: m.mountPoint, ...(m.ours ? {} : { mntns: m.mntns, pid: m.pid }), why, command: releaseCommand(m) };
}

/** Which of a namespace's mounts gc may release, and which it only reports. */
export function planRelease(ns: ScannedNetns): { releasable: MountHolder[]; kept: KeptMount[] } {
  const releasable: MountHolder[] = [];
  const out: KeptMount[] = [];
  for (const m of ns.mounts) {
    if (namespaceNameOf(m.mountPoint)) releasable.push(m);
    else if (READ_ONLY_NAME_DIRS.includes(dirname(m.mountPoint))) out.push(kept(m, "a name in Docker's netns directory, which pipewright only reads"));
    else out.push(kept(m, 'not a namespace name in a namespace directory: pipewright does not unmount or unlink it'));
  }
  return { releasable, kept: out };
}

/** Releases what planRelease allows; anything refused on the way is reported, not forced. */
export async function releaseMounts(ns: ScannedNetns): Promise<MountRelease> {
  const { releasable, kept: out } = planRelease(ns);
  const released: string[] = [];
  for (const m of releasable) {
    const { dir, name } = namespaceNameOf(m.mountPoint)!;
    try {
      // In our mount namespace: unmount and unlink, as for a name. Elsewhere:
      // unlink beneath that process's root, which detaches every copy.
      await Netns.remove(name, {
        ...(m.ours ? { runDir: dir } : { runDir: dir.slice(1), root: `/proc/${m.pid}/root` }),
        expect: { dev: ns.dev, ino: ns.ino },
      });
      released.push(mountLabel(m));
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Already gone: unlinking one copy detached the others on the same file.
      if (code === 'ENOENT' || code === 'ERR_PW_NETNS_NOT_FOUND' || code === 'ESRCH') continue;
      out.push(kept(m, `refused: ${(e as Error).message}`));
    }
  }
  return { released, kept: out };
}
