// Links pipewright made, recognised by the mark attach() writes into the host
// end's ifalias ("pipewright owner=<owner> guest=<dev:ino> if=<ifname>"),
// and which of them have outlived their guest.
import type { Link } from '../../core/types';
import type { Pairing } from './pairs';
import type { NetnsScan, ScannedNetns } from './types';
import { parseOwnerAlias } from '../ownership/marks';

export { parseOwnerAlias };

export interface OwnedLink {
  link: Link;
  owner: string;
  /** The guest namespace recorded at attach time, "dev:ino". */
  guest: string;
  guestIf: string;
}

export type LeakReason = 'guest-gone' | 'guest-orphaned' | 'peer-gone';

export interface LeakedLink extends OwnedLink {
  reason: LeakReason;
  /** In words, for verdicts and reports. */
  detail: string;
  /** The guest namespace, when it still exists (held by mounts only). */
  guestNs?: ScannedNetns;
}

/** Host ends carrying the owner mark; with `owner`, only that owner's (exact match). */
export function ownedLinks(links: readonly Link[], opts: { owner?: string; group?: number } = {}): OwnedLink[] {
  const out: OwnedLink[] = [];
  for (const link of links) {
    const mark = parseOwnerAlias(link.alias);
    if (!mark) continue;
    if (opts.owner !== undefined && mark.owner !== opts.owner) continue;
    if (opts.group !== undefined && link.group !== opts.group) continue;
    out.push({ link, ...mark });
  }
  return out;
}

/**
 * Which owned links are left without a guest. `scan` must be a full one
 * (all: true, detail: true) so that "not found" means "does not exist".
 *  - guest-gone: the namespace recorded in the mark no longer exists;
 *  - guest-orphaned: it exists, but nothing runs in it, nothing names it and
 *    no program holds an fd to it: only nsfs mounts keep it (FIELD-NOTES §3);
 *  - peer-gone: a veth whose peer cannot be found in any namespace.
 * A guest held by an fd is a live program's anonymous namespace: not leaked.
 */
export function leakedLinks(hostNs: string, owned: readonly OwnedLink[], scan: NetnsScan, pairing: Pairing): LeakedLink[] {
  const byId = new Map(scan.namespaces.map((n) => [n.id, n]));
  const uncertain = new Set((scan.uncertain ?? []).map((u) => u.id));
  const out: LeakedLink[] = [];
  for (const o of owned) {
    const guestNs = byId.get(o.guest);
    // A namespace the scan saw held but could not confirm may be this guest: no proof either way.
    if (!guestNs && uncertain.has(o.guest)) continue;
    if (!guestNs) {
      out.push({ ...o, reason: 'guest-gone', detail: `its guest namespace ${o.guest} no longer exists` });
      continue;
    }
    if (guestNs.processes.length === 0 && guestNs.names.length === 0 && guestNs.fds.length === 0) {
      const where = guestNs.mounts.map((m) => `${m.mountPoint} in mnt:[${m.mntns}]`).join(', ');
      out.push({ ...o, reason: 'guest-orphaned', detail: `its guest namespace ${o.guest} has no process and no name; only mounts hold it (${where})`, guestNs });
      continue;
    }
    if (o.link.kind === 'veth' && guestNs.links !== undefined && pairing.peerOf({ ns: hostNs, index: o.link.index }) === null && !pairing.ambiguous.some((a) => a.at.ns === hostNs && a.at.index === o.link.index)) {
      out.push({ ...o, reason: 'peer-gone', detail: `its peer${o.link.link ? ` (index ${o.link.link})` : ''} is in no namespace the scan found`, guestNs });
    }
  }
  return out;
}
