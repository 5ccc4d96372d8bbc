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
  entries: ReadonlyMap<string, LockedDirEntry>;
  /** The leases by owner (a file's trimmed content), each owner's in lexical order of their names. */
  byOwner: ReadonlyMap<string, readonly Lease[]>;
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

// Go's filepath.Walk visits names in lexical (byte) order: so do we.
const lexical = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The leases of a reading by owner, with the reading's entries they were made from. */
interface Index {
  reading: number;
  entries: ReadonlyMap<string, LockedDirEntry>;
  byOwner: Map<string, readonly Lease[]>;
}

/** The index of the last reading of each store, updated by the names that changed since (LockedDir.changed). */
const indexes = new Map<string, Index>();
/** As many as openLockedDir keeps views of. */
const MAX_INDEXES = 64;

function indexAll(entries: ReadonlyMap<string, LockedDirEntry>): Map<string, readonly Lease[]> {
  const byOwner = new Map<string, Lease[]>();
  for (const e of entries.values()) {
    const lease = leaseOf(e);
    if (!lease) continue;
    const list = byOwner.get(lease.owner);
    if (list) list.push(lease);
    else byOwner.set(lease.owner, [lease]);
  }
  for (const list of byOwner.values()) list.sort(lexical);
  return byOwner;
}

/** `before` with the leases of `names` (new, changed or gone) as they are in `entries` now. */
function indexChanges(before: Index, entries: ReadonlyMap<string, LockedDirEntry>, names: readonly string[]): Map<string, readonly Lease[]> {
  const byOwner = new Map(before.byOwner);
  for (const name of new Set(names)) {
    const was = before.entries.get(name);
    const old = was ? leaseOf(was) : null;
    if (old) {
      const rest = byOwner.get(old.owner)!.filter((l) => l !== old);
      if (rest.length > 0) byOwner.set(old.owner, rest);
      else byOwner.delete(old.owner);
    }
    const e = entries.get(name);
    const lease = e ? leaseOf(e) : null;
    if (lease) byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease].sort(lexical));
  }
  return byOwner;
}

export async function openStore(dataDir: string, network: string): Promise<Store> {
  const dir = await openLockedDir(dataDir, network, LOCK_FILE);
  const before = indexes.get(dir.path);
  indexes.delete(dir.path);
  const byOwner = before && dir.changed && dir.changed.since === before.reading ? indexChanges(before, dir.entries, dir.changed.names) : indexAll(dir.entries);
  if (dir.reading > 0) {
    if (indexes.size >= MAX_INDEXES) indexes.clear();
    indexes.set(dir.path, { reading: dir.reading, entries: dir.entries, byOwner });
  }
  return { dir, entries: dir.entries, byOwner };
}

/** The leases of one attachment: in the current format, else (as the reference falls back) the old one. */
export function leasesOf(store: Store, id: string, ifname: string): { current: readonly Lease[]; old: readonly Lease[] } {
  return { current: store.byOwner.get(leaseContent(id, ifname)) ?? [], old: store.byOwner.get(id.trim()) ?? [] };
}

/** What the allocator sees of the store, for one attachment. */
export function viewOf(store: Store, id: string, ifname: string): StoreView {
  const { current, old } = leasesOf(store, id, ifname);
  const held = current === old ? [...current] : [...current, ...old].sort(lexical);
  return {
    taken: (name) => store.entries.has(name),
    lastReserved: (set) => {
      const e = store.entries.get(`${LAST_RESERVED}${set}`);
      // net.ParseIP of the whole content: anything but a bare address is no address.
      return e && e.type === 'file' && e.data !== undefined ? parseIp(e.data) : null;
    },
    held: held.map((l) => l.ip),
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
