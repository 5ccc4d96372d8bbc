// The shapes forensics reports: who holds a network namespace, and what the
// scan found in it. Namespaces are identified as the kernel does, by the
// (device, inode) of their nsfs file, written "dev:ino".
import type { Address, Link } from '../../core/types';

/** A process some of whose threads run in the namespace. */
export interface ProcessHolder {
  pid: number;
  /** /proc/PID/comm: the command name (at most 15 bytes). */
  comm: string;
  /** The threads (task ids) of this process that are in the namespace. */
  tids: number[];
  /** True when every thread of the process is in it (the usual case). */
  allThreads: boolean;
  /** A path that opens the namespace: /proc/PID/task/TID/ns/net. */
  path: string;
}

/** An nsfs bind mount of the namespace, in some mount namespace. */
export interface MountHolder {
  /** A process in that mount namespace, through whose root the mount is reached. */
  pid: number;
  comm: string;
  /** Inode of the mount namespace that holds the mount (readlink /proc/PID/ns/mnt). */
  mntns: number;
  /** True when that mount namespace is the one this process runs in. */
  ours: boolean;
  /** The mount id (first field of mountinfo), unique within the system. */
  mountId: number;
  /** Where it is mounted, as that process sees its own root. */
  mountPoint: string;
  /** A path that opens it from here without switching mount namespace: the mount point under /proc/PID/root. */
  path: string;
}

/** An open file descriptor that refers to the namespace. */
export interface FdHolder {
  pid: number;
  comm: string;
  fd: number;
  /** /proc/PID/fd/N: opening it opens the namespace. */
  path: string;
}

/** A name under /run/netns (iproute2) or /var/run/docker/netns (Docker). */
export interface NameEntry {
  name: string;
  dir: string;
  path: string;
}

/** A file in a names directory that is not (or no longer) a namespace: setns on it fails with EINVAL. */
export interface StaleName extends NameEntry {
  reason: string;
}

export interface NetnsHolders {
  processes: ProcessHolder[];
  mounts: MountHolder[];
  fds: FdHolder[];
  names: NameEntry[];
}

export interface NetnsFlags {
  /** No thread of any process runs in it: only fds and mounts keep it alive. */
  orphan: boolean;
  /**
   * Held only by nsfs mounts, all in mount namespaces other than ours: no
   * process, no fd, no name here leads to it (FIELD-NOTES §3).
   */
  unreachableFromHere: boolean;
  /** The namespace this process runs in. */
  current: boolean;
}

export interface NetnsAddress {
  ifname: string;
  index: number;
  address: string;
  prefixLen: number;
  family: 4 | 6;
}

export interface ScannedNetns extends NetnsHolders {
  /** "dev:ino" */
  id: string;
  dev: number;
  ino: number;
  flags: NetnsFlags;
  /** Number of interfaces (including lo); absent when the namespace could not be opened. */
  interfaces?: number;
  addresses?: NetnsAddress[];
  /** With `detail`: every link and address object. */
  links?: Link[];
  addrs?: Address[];
  /** The path the scan opened it through. */
  openedVia?: string;
  /** Why it could not be opened (it may have gone while we looked). */
  error?: string;
}

export interface NetnsScan {
  namespaces: ScannedNetns[];
  /** Entries of the names directories that are not namespaces. */
  stale: StaleName[];
  /** This process's own network and mount namespace. */
  self: { netns: string; mntns: number };
  /** /proc entries skipped because they vanished or we may not read them. */
  skipped: number;
  /**
   * Namespaces a process's fd holds that could not be opened to confirm them
   * (for a reason other than the fd going away): they may be alive, so
   * nothing is judged gone on their account.
   */
  uncertain: Array<{ id: string; why: string }>;
  /** Wall time of the scan, in milliseconds. */
  elapsedMs: number;
}

/** What would let a namespace go: one action per holder. */
export interface Release {
  holder: 'process' | 'fd' | 'mount' | 'name';
  pid?: number;
  fd?: number;
  path?: string;
  mntns?: number;
  /** What to do, in words. */
  action: string;
  /** A command that does it. */
  command: string;
}

/** Keys used to describe a holder in one phrase ("pid 12 (sleep)"). */
export function describeHolder(ns: NetnsHolders): string {
  const n = ns.names[0];
  if (n) return `name ${n.path}`;
  const p = ns.processes[0];
  if (p) return `pid ${p.pid} (${p.comm})`;
  const m = ns.mounts[0];
  if (m) return `mount ${m.mountPoint} in mnt:[${m.mntns}] (via pid ${m.pid} ${m.comm})`;
  const f = ns.fds[0];
  if (f) return `fd ${f.fd} of pid ${f.pid} (${f.comm})`;
  return 'nothing visible';
}
