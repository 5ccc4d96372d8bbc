// One attachment's journal entry: who made it, in which namespaces, what it
// creates, and how far it got. Written before the attach's first kernel
// change ('in-progress'), rewritten after verification ('complete'), and
// removed on rollback and on detach. An attach whose rollback could not
// remove everything leaves it as 'failed', for gc to finish the job.
//
// The identity of an attachment is (guest namespace, guest interface): a
// guest has one interface of a name. Owner and host namespace say whose it
// is and where its host side lives. File names start with the identity, so
// the entries of one guest interface are found without reading the others,
// and end with the writer's PID and a counter, so two attaches racing for
// the same interface never write the same file.
import type { ProcessIdentity } from './process-identity';

export type EntryState = 'in-progress' | 'complete' | 'failed';

/** How to find the guest again (gc, doctor, `gc --complete`). */
export interface GuestRecord {
  kind: 'named' | 'pid' | 'path' | 'container' | 'netns';
  /** As reported: a name, a PID, a path, a container name. */
  label: string;
  name?: string;
  runDir?: string;
  path?: string;
  pid?: number;
  container?: { id: string; name: string };
}

/** The attach as asked, normalized (what `gc --complete` runs again). */
export interface RecordedSpec {
  hostIf: string;
  guestIf: string;
  hostEnd?: string;
  address?: string;
  gateway?: string;
  mac?: string;
  vlan?: number;
  directPhys: boolean;
  mtu?: number;
  dhcp?: { client: string; foreground: boolean; options: string[]; timeoutMs: number };
  arp: boolean;
  owner: string;
  group: number;
}

export interface AttachmentEntry {
  version: 1;
  state: EntryState;
  owner: string;
  /** "dev:ino" of the namespace the host side lives in. */
  hostNetns: string;
  /** Its cookie (cookie.ts). */
  hostCookie?: string;
  /** "dev:ino" of the guest's namespace. */
  guestNetns: string;
  /** Its cookie (cookie.ts): tells it from a later namespace that gets the same inode. */
  guestCookie?: string;
  guestIf: string;
  mode: 'bridge' | 'macvlan' | 'direct-phys';
  /** The bridge, the macvlan's parent, or the moved device (its name on the host). */
  hostIf: string;
  /** The attach creates the bridge (pipework's rule for a missing br* name). */
  createsBridge: boolean;
  /** bridge mode: the veth's host end. */
  hostEnd?: string;
  /** Link group of the host end (or of a macvlan, in the guest). */
  group: number;
  /** The ownership mark on the host end (on a macvlan or moved device: on it, in the guest). */
  alias: string;
  guest: GuestRecord;
  process: ProcessIdentity;
  spec: RecordedSpec;
  startedAt: string;
  updatedAt: string;
  /** Known once created: the host end's index (bridge), the guest interface's index. */
  hostEndIndex?: number;
  guestIndex?: number;
  hostIfIndex?: number;
  /** The bridge this attach created, once created (only a bridge of this index is its to remove). */
  bridgeIndex?: number;
  /** The VLAN device a macvlan@VLAN attach creates, when it creates one. */
  createsVlan?: string;
  /** The attach brings the macvlan's lower device up (undo: down). */
  bringsHostIfUp?: boolean;
  /** The default route the attach replaced (written before it is replaced). */
  previousDefault?: { gateway?: string; dev?: number | string; onlink?: boolean };
  /** state 'failed': what the attach's own rollback could not undo. */
  leftBehind?: string[];
}

/** The file-name prefix of every entry of one guest interface. */
export function identityPrefix(guestNetns: string, guestIf: string): string {
  return `${guestNetns.replace(':', '-')}-${Buffer.from(guestIf).toString('hex')}.`;
}

let counter = 0;

/** A fresh file name for an entry of this identity written by this process. */
export function entryFileName(guestNetns: string, guestIf: string): string {
  return `${identityPrefix(guestNetns, guestIf)}${process.pid}-${Date.now().toString(36)}${(++counter).toString(36)}.json`;
}

/** An entry file's contents, or null when it is not one (never trusted further than its shape). */
export function parseEntry(data: string): AttachmentEntry | null {
  let e: unknown;
  try {
    e = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof e !== 'object' || e === null) return null;
  const o = e as Partial<AttachmentEntry>;
  const ok =
    o.version === 1 &&
    (o.state === 'in-progress' || o.state === 'complete' || o.state === 'failed') &&
    typeof o.owner === 'string' &&
    typeof o.hostNetns === 'string' &&
    typeof o.guestNetns === 'string' &&
    typeof o.guestIf === 'string' &&
    typeof o.hostIf === 'string' &&
    typeof o.alias === 'string' &&
    typeof o.group === 'number' &&
    typeof o.process?.pid === 'number' &&
    typeof o.process?.startTime === 'string' &&
    typeof o.guest?.kind === 'string' &&
    typeof o.spec === 'object';
  return ok ? (o as AttachmentEntry) : null;
}
