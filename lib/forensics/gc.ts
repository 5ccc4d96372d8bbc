// gc(): removes what pipewright left behind, in bulk. Leaked host ends (the
// owner mark, in pipewright's link group, guest gone) are deleted with ONE
// RTM_DELLINK for a link group: the whole group when every link in it is
// leaked, else a temporary group the leaked ones are moved into first.
// Deleting one at a time costs ~20 ms each (an RCU grace period per
// unregister); a group costs about that once. Guest namespaces that only
// mounts keep alive (FIELD-NOTES §3) are released by unlinking their names
// in the namespace directories, which detaches the mount in every mount
// namespace; any other mount point is reported, never touched (release.ts).
import { randomInt } from 'node:crypto';
import { Handle } from '../handle';
import { Netns, NetnsRef } from '../netns';
import { invalidArgument } from '../errors';
import { PIPEWRIGHT_GROUP } from '../attach/spec';
import { linkSetArgs } from '../api/link';
import { waitReleased } from './holders';
import { KeptMount, mountLabel, planRelease, releaseMounts } from './release';
import { LeakedLink, leakedLinks, LeakReason, ownedLinks } from './owned';
import { pairVethsExact } from './nsid';
import { scanNamespaces } from './scan';
import type { NetnsScan, ScannedNetns } from './types';

export interface GcOptions {
  /** Only links whose owner mark is exactly this (attach's `owner`). */
  owner?: string;
  /** List what would be removed, remove nothing. */
  dryRun?: boolean;
  /** The namespace whose links are examined (default: the current one). */
  netns?: Netns | NetnsRef;
  /** Or a handle already open in it (borrowed). */
  host?: Handle;
  /** The link group pipewright's host ends are in (default PIPEWRIGHT_GROUP). */
  group?: number;
  /** A scan made with { all: true, detail: true }, to reuse. */
  scan?: NetnsScan;
}

export interface GcLink {
  name: string;
  index: number;
  owner: string;
  guest: string;
  reason: LeakReason;
  detail: string;
}

export interface GcNamespace {
  id: string;
  /** Namespace names unlinked (or, in dry run, that would be): see release.ts. */
  mounts: string[];
  /** Mounts that hold it but are not namespace names: reported with the command that releases them, never removed. */
  kept: KeptMount[];
  /** After release: what still holds it (empty when it is gone). */
  remaining: string[];
}

export interface GcResult {
  dryRun: boolean;
  target: string;
  links: GcLink[];
  namespaces: GcNamespace[];
  /** How the links went: the whole group, a temporary group, or nothing to do. */
  batch: { kind: 'group' | 'temporary-group' | 'none'; group?: number; ms?: number };
}

/** A group number no link in the namespace uses, for the batch. */
function freeGroup(used: Set<number>): number {
  for (;;) {
    const g = 0x70770000 + randomInt(1, 0xffff);
    if (!used.has(g)) return g;
  }
}

export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (opts.owner !== undefined && (typeof opts.owner !== 'string' || opts.owner === '' || /\s/.test(opts.owner)))
    throw invalidArgument('owner', opts.owner, 'must be a non-empty owner tag without whitespace');
  const group = opts.group ?? PIPEWRIGHT_GROUP;
  const host = opts.host ?? (opts.netns === undefined ? await Handle.open() : await Handle.open(opts.netns));
  try {
    const [scan, links] = await Promise.all([opts.scan ?? scanNamespaces({ all: true, detail: true }), host.link.list()]);
    const target = host.netns?.id ?? scan.self.netns;
    const owned = ownedLinks(links, { group, ...(opts.owner !== undefined ? { owner: opts.owner } : {}) });
    const leaked: LeakedLink[] = leakedLinks(target, owned, scan, await pairVethsExact(scan.namespaces));
    const orphans = new Map<string, ScannedNetns>();
    for (const l of leaked) if (l.reason === 'guest-orphaned' && l.guestNs) orphans.set(l.guestNs.id, l.guestNs);
    const result: GcResult = {
      dryRun: opts.dryRun === true,
      target,
      links: leaked.map((l) => ({ name: l.link.name, index: l.link.index, owner: l.owner, guest: l.guest, reason: l.reason, detail: l.detail })),
      namespaces: [...orphans.values()].map((n) => {
        const plan = planRelease(n);
        return { id: n.id, mounts: plan.releasable.map(mountLabel), kept: plan.kept, remaining: [] };
      }),
      batch: { kind: 'none' },
    };
    if (opts.dryRun) return result;

    if (leaked.length > 0) {
      const started = performance.now();
      const inGroup = links.filter((l) => l.group === group);
      const leakedIdx = new Set(leaked.map((l) => l.link.index));
      if (inGroup.every((l) => leakedIdx.has(l.index))) {
        await host.link.delGroup(group);
        result.batch = { kind: 'group', group };
      } else {
        const temp = freeGroup(new Set(links.map((l) => l.group ?? 0)));
        // One hop for the moves, one request for the delete.
        await host.runBatch(leaked.map((l) => ({ op: 'link.set', args: linkSetArgs(l.link.index, { group: temp }) })));
        await host.link.delGroup(temp);
        result.batch = { kind: 'temporary-group', group: temp };
      }
      result.batch.ms = Math.round(performance.now() - started);
    }

    for (const ns of result.namespaces) {
      const released = await releaseMounts(orphans.get(ns.id)!);
      ns.mounts = released.released;
      ns.kept = released.kept;
      const left = await waitReleased({ ino: orphans.get(ns.id)!.ino, dev: orphans.get(ns.id)!.dev }, 2000);
      ns.remaining = left.releases.map((r) => r.action);
    }
    return result;
  } finally {
    if (!opts.host) await host.close();
  }
}
