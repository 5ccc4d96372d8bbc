// Making a lease's DNS servers reach the guest's resolver. The client writes
// the guest's own resolv.conf in its state dir (index.ts); nothing in the
// guest reads that file by itself:
//  - a named namespace: `ip netns exec NAME` bind-mounts every file of
//    /etc/netns/NAME/ over /etc, so /etc/netns/NAME/resolv.conf becomes a
//    symlink to the state file (renewals by a kept client show through).
//    A file already there that is not our link is someone else's: left alone.
//  - a container: its /etc/resolv.conf belongs to its engine. We say where
//    the file is and how to hand it over; we do not write into the container.
//  - a PID or nsfs path: we say where the file is.
// A marker in the state dir records what was made (the link, and the
// directory when we made it), so that release removes exactly that.
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedGuest } from '../guest';

/** Where iproute2 looks for per-namespace /etc files. */
export const DEFAULT_NETNS_ETC_DIR = '/etc/netns';

/**
 * /etc/netns, or PW_NETNS_ETC_DIR. The override exists for the test
 * sandbox (scripts/sandbox.sh), whose /etc is the host's.
 */
export function netnsEtcDir(): string {
  return process.env.PW_NETNS_ETC_DIR ?? DEFAULT_NETNS_ETC_DIR;
}

const MARKER = 'netns-etc.json';

interface Marker {
  link: string;
  target: string;
  /** The per-namespace directory, when we created it. */
  createdDir?: string;
}

export interface Published {
  /** For a named namespace: the path `ip netns exec NAME` reads (our link to the state file). */
  netnsResolvConf?: string;
  /** How the guest gets to use the file, for people. */
  resolvConfUse: string;
}

function isDir(path: string): boolean | null {
  try {
    const st = lstatSync(path);
    return st.isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A directory we may write in: an existing real directory (not a symlink), or one we create now. Returns whether we created it. */
function ensureDir(path: string): boolean {
  const d = isDir(path);
  if (d === true) return false;
  if (d === false) throw new Error(`${path} exists and is not a directory`);
  mkdirSync(path, { mode: 0o755 });
  return true;
}

function readLink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null; // absent, or not a symlink
  }
}

/** Publishes `resolvConf` (the guest's file in `stateDir`) where the guest's resolver finds it; never fails the lease. */
export function publishResolvConf(guest: ResolvedGuest, stateDir: string, resolvConf: string): Published {
  if (guest.container) {
    const c = guest.container.name;
    return { resolvConfUse: `the container's own /etc/resolv.conf is its engine's: copy this one in (docker cp ${resolvConf} ${c}:/etc/resolv.conf) or bind-mount it when the container is made` };
  }
  const name = guest.netns.name;
  if (name === undefined) return { resolvConfUse: "nothing in the guest reads it by itself: bind-mount it over /etc/resolv.conf in the guest's mount namespace" };
  const base = netnsEtcDir();
  const dir = join(base, name);
  const link = join(dir, 'resolv.conf');
  try {
    ensureDir(base);
    const createdDir = ensureDir(dir);
    if (readLink(link) !== resolvConf) {
      try {
        symlinkSync(resolvConf, link);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        return { resolvConfUse: `${link} exists and is not pipewright's: left alone, and 'ip netns exec ${name}' uses that one` };
      }
    }
    const marker: Marker = { link, target: resolvConf, ...(createdDir ? { createdDir: dir } : {}) };
    writeFileSync(join(stateDir, MARKER), JSON.stringify(marker), { mode: 0o644 });
    return { netnsResolvConf: link, resolvConfUse: `'ip netns exec ${name}' uses it through ${link}` };
  } catch (e) {
    return { resolvConfUse: `could not link it as ${link} (${(e as Error).message}): bind-mount it over /etc/resolv.conf in the guest` };
  }
}

/**
 * Removes what publishResolvConf made for the guest whose state dir this
 * is: the link, only while it still points at our file, and the directory,
 * only if we made it and it is empty. Returns what it removed.
 */
export function unpublishResolvConf(stateDir: string): string[] {
  let m: Marker;
  try {
    m = JSON.parse(readFileSync(join(stateDir, MARKER), 'utf8')) as Marker;
  } catch {
    return [];
  }
  const done: string[] = [];
  if (readLink(m.link) === m.target) {
    unlinkSync(m.link);
    done.push(m.link);
  }
  if (m.createdDir) {
    try {
      rmdirSync(m.createdDir);
      done.push(m.createdDir);
    } catch {
      // not empty (someone else's files), or gone
    }
  }
  rmSync(join(stateDir, MARKER), { force: true });
  return done;
}

/** The marker's file name, which the state dir's cleanup must know. */
export const RESOLVER_MARKER = MARKER;
