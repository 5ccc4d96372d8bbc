// What the plugin remembers about each attachment, in pipewright's state
// directory beside the ownership journal: one record per (network, container
// ID, interface) — the attachment's identity in CNI — naming the namespace,
// the host end and the result returned. DEL, CHECK and GC find attachments
// here; ADD finds itself here when it is run again. Written atomically
// (lib/core/state-files.ts: temporary file, fsync, rename) through directory
// fds that never follow symbolic links.
//
// Calls for one container are serialized by a lock file per container ID
// (flock on the addon's lock thread): never one lock for everything, so ADDs
// of different containers run at once, and a DEL that arrives while an ADD
// of the same container runs waits for it. DEL removes the container's lock
// file as it gives it back, so the directory does not grow with every
// container ever run; a taker already waiting then takes the fresh file of
// that name (the lock re-checks the file it was granted).
import { createHash } from 'node:crypto';
import { listStateFiles, lockStateFilePrunable, lockStateFilePrunableAndRead, removeStateFile, writeStateFile } from '../../core/state-files';
import type { CniResult } from './result';

export const RECORD_DIR = 'cni';
export const LOCK_DIR = 'cni-locks';

export interface CniRecord {
  version: 1;
  /** 'in-progress' from before the first change until the result is known; then 'complete'. */
  state: 'in-progress' | 'complete';
  network: string;
  containerId: string;
  ifname: string;
  /** CNI_NETNS as given. */
  netns: string;
  /** The namespace's "dev:ino", once opened. */
  guestNetns?: string;
  bridge: string;
  hostEnd: string;
  /** The delegated IPAM plugin, when there is one. */
  ipam?: string;
  /** The result ADD returned (the part this plugin added, prevResult excluded). */
  result?: CniResult;
  /** The full result ADD printed (prevResult included), for an ADD run again. */
  printed?: CniResult;
  pid: number;
  createdAt: string;
}

const hash = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/** Every record of a network starts with this. */
export function networkPrefix(network: string): string {
  return `${hash(network, 16)}-`;
}

export function recordFile(network: string, containerId: string, ifname: string): string {
  return `${networkPrefix(network)}${hash(`${containerId}\0${ifname}`, 32)}.json`;
}

export async function writeRecord(r: CniRecord): Promise<void> {
  await writeStateFile(RECORD_DIR, recordFile(r.network, r.containerId, r.ifname), `${JSON.stringify(r)}\n`);
}

export async function removeRecord(network: string, containerId: string, ifname: string): Promise<void> {
  await removeStateFile(RECORD_DIR, recordFile(network, containerId, ifname));
}

/** Every record of one network (GC). */
export async function listRecords(network: string): Promise<CniRecord[]> {
  const files = await listStateFiles(RECORD_DIR, networkPrefix(network));
  return files
    .filter((f) => f.name.endsWith('.json'))
    .map((f) => parse(f.data))
    .filter((r): r is CniRecord => r !== null && r.network === network);
}

function parse(data: string): CniRecord | null {
  try {
    const r = JSON.parse(data) as CniRecord;
    return r && r.version === 1 && typeof r.network === 'string' && typeof r.containerId === 'string' && typeof r.ifname === 'string' && typeof r.hostEnd === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** A container's lock, held. */
export interface ContainerLock {
  /** Gives it back. */
  unlock(): Promise<void>;
  /** Gives it back and removes its file: the container's attachment is gone. */
  unlockAndRemove(): Promise<void>;
}

/** The lock file of one container ID (its hash: any string is a valid ID). */
export function lockName(containerId: string): string {
  return `c-${hash(containerId, 32)}`;
}

/** Waits for, then holds, the lock of one container ID. */
export async function lockContainer(containerId: string): Promise<ContainerLock> {
  const l = await lockStateFilePrunable(LOCK_DIR, lockName(containerId));
  return { unlock: l.release, unlockAndRemove: l.releaseAndRemove };
}

/** lockContainer, then readRecord under that lock: one trip to the addon's lock thread instead of two. */
export async function lockAndReadRecord(network: string, containerId: string, ifname: string): Promise<{ lock: ContainerLock; record: CniRecord | null }> {
  const file = recordFile(network, containerId, ifname);
  const { lock: l, file: f } = await lockStateFilePrunableAndRead(LOCK_DIR, lockName(containerId), RECORD_DIR, file);
  return { lock: { unlock: l.release, unlockAndRemove: l.releaseAndRemove }, record: f ? parse(f.data) : null };
}
