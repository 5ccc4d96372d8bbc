// The reference host-local plugin's store (backend/disk/backend.go), read
// and changed the way it does, so that both can share it:
//
//   <dataDir>/<network>/lock                  flock'd (exclusive) around every look and change
//   <dataDir>/<network>/<address>             one per address held: "<containerID>\r\n<ifname>"
//                                             (before CNI 0.7 plugins: "<containerID>" alone)
//   <dataDir>/<network>/last_reserved_ip.<i>  the address last taken from range set i, no line break
//
// A file is the container's when its content, trimmed, is its key; an
// old-format file is matched by the ID alone. Only entries named by an
// address and that are regular files are ever looked at as leases or
// removed: the lock, last_reserved_ip.*, anything else someone put there,
// and symbolic links are left alone (the reference walks every file, links
// followed; here nothing is followed). New files are made 0600, as current
// reference releases make them.
import { openLockedDir, type LockedDir, type LockedDirEntry } from '../../../core/locked-dir';
import { formatIp, parseIp, type Ip } from './ip';
import type { StoreView } from './allocator';

export const LOCK_FILE = 'lock';
export const LAST_RESERVED = 'last_reserved_ip.';
/** The reference's LineBreak between the container ID and the interface. */
export const LINE_BREAK = '\r\n';

/** What a lease file holds for one attachment. */
export function leaseContent(id: string, ifname: string): string {
  return `${id.trim()}${LINE_BREAK}${ifname}`;
}

export interface Lease {
  name: string;
  ip: Ip;
  /** The trimmed content. */
  owner: string;
}

/** The store, locked, as it was when the lock was granted. */
export interface Store {
  dir: LockedDir;
  leases: Lease[];
  entries: ReadonlyMap<string, LockedDirEntry>;
}

/**
 * Each entry's lease (null: not a lease), kept while the entry is: an entry
 * that did not change between readings is the same object (openLockedDir),
 * so its lease is not parsed again.
 */
const leaseOfEntry = new WeakMap<LockedDirEntry, Readonly<Lease> | null>();

function leaseOf(e: LockedDirEntry): Readonly<Lease> | null {
  let lease = leaseOfEntry.get(e);
  if (lease === undefined) {
    const ip = e.type === 'file' && e.data !== undefined ? parseIp(e.name) : null;
    lease = ip ? Object.freeze({ name: e.name, ip: Object.freeze(ip), owner: e.data!.trim() }) : null;
    leaseOfEntry.set(e, lease);
  }
  return lease;
}

export async function openStore(dataDir: string, network: string): Promise<Store> {
  const dir = await openLockedDir(dataDir, network, LOCK_FILE);
  const entries = new Map(dir.entries.map((e) => [e.name, e]));
  // Go's filepath.Walk visits names in lexical (byte) order: so do we.
  const names = [...entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const leases: Lease[] = [];
  for (const name of names) {
    const lease = leaseOf(entries.get(name)!);
    if (lease) leases.push(lease);
  }
  return { dir, leases, entries };
}

/** The leases of one attachment: in the current format, else (as the reference falls back) the old one. */
export function leasesOf(store: Store, id: string, ifname: string): { current: Lease[]; old: Lease[] } {
  const key = leaseContent(id, ifname);
  const bare = id.trim();
  return { current: store.leases.filter((l) => l.owner === key), old: store.leases.filter((l) => l.owner === bare) };
}

/** What the allocator sees of the store, for one attachment. */
export function viewOf(store: Store, id: string, ifname: string): StoreView {
  const { current, old } = leasesOf(store, id, ifname);
  const heldNames = new Set([...current, ...old].map((l) => l.name));
  return {
    taken: (name) => store.entries.has(name),
    lastReserved: (set) => {
      const e = store.entries.get(`${LAST_RESERVED}${set}`);
      // net.ParseIP of the whole content: anything but a bare address is no address.
      return e && e.type === 'file' && e.data !== undefined ? parseIp(e.data) : null;
    },
    held: store.leases.filter((l) => heldNames.has(l.name)).map((l) => l.ip),
  };
}

/**
 * The files DEL removes. The reference releases once per range set: each
 * release removes the current-format files, or, when there were none left,
 * the old-format ones — so with two range sets or more, old-format files go
 * as well, and so they do here.
 */
export function releasePlan(store: Store, id: string, ifname: string, rangeSets: number): Lease[] {
  const { current, old } = leasesOf(store, id, ifname);
  const out: Lease[] = [];
  let currentLeft = current.length > 0;
  let oldLeft = old.length > 0;
  for (let i = 0; i < rangeSets; i++) {
    if (currentLeft) {
      out.push(...current);
      currentLeft = false;
    } else if (oldLeft) {
      out.push(...old);
      oldLeft = false;
    }
  }
  return out;
}

/** Whether an entry may be written as last_reserved_ip (missing, or a regular file). */
export function writable(store: Store, name: string): boolean {
  const e = store.entries.get(name);
  return !e || e.type === 'file';
}

export const ipName = (ip: Ip): string => formatIp(ip);
