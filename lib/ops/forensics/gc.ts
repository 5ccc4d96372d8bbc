// gc(): removes what pipewright left behind, and only that. It works in two
// phases. First, without a lock, it proves what is leaked: the links of the
// namespace are listed BEFORE the namespaces are scanned (so every link it
// judges existed when the scan began, and so did its guest), then the
// ownership journal is read: pipewright-owned host ends whose guest is gone
// or kept only by mounts, attaches that crashed (their process is gone) or
// failed without undoing themselves, entries of attachments that no longer
// exist. A dry run stops here and reports exactly that list.
//
// Then, holding the namespace's lock exclusive (attaches hold it shared for
// their whole transaction, so none is half-way), it acts on that list and
// nothing else: each proven link is read again by index and deleted only if
// it is still the same link (name, alias, group), moved with the others into
// a fresh temporary group deleted in one request; each crashed attach is
// rolled back from its journal entry, object by object, each proven to be
// the one that attach made. Links that appeared after the scan are never in
// the list; pipewright's link group as a whole is never deleted.
//
// Guest namespaces that only mounts keep alive (FIELD-NOTES §3) are released
// by unlinking their names in the namespace directories, which detaches the
// mount in every mount namespace; any other mount point is reported, never
// touched (release.ts).
import { Handle } from '../../core/handle';
import { Netns, NetnsRef } from '../../core/netns';
import { invalidArgument } from '../../core/errors';
import { PIPEWRIGHT_GROUP } from '../ownership/marks';
import { waitReleased } from './holders';
import { KeptMount, mountLabel, planRelease, releaseMounts } from './release';
import { LeakedLink, leakedLinks, LeakReason, ownedLinks } from './owned';
import { pairVethsExact } from './nsid';
import { scanNamespaces } from './scan';
import type { NetnsScan, ScannedNetns } from './types';
import { abandoned, classify, guestRefOf, lockNamespace, netnsIdOf, reclaimProven, removeEntry, rereadEntry, rollBackAttachment } from '../ownership';
import type { ProcessIdentity } from '../ownership';
import { provenAlive, surveyJournal } from './gc-journal';
import { attach } from '../attach';

export interface GcOptions {
  /** Only links and attachments whose owner is exactly this (attach's `owner`). */
  owner?: string;
  /** List what would be removed, remove nothing. */
  dryRun?: boolean;
  /** After rolling back a crashed attach, run it again from its journal entry (when its guest still exists). */
  complete?: boolean;
  /** The namespace whose links are examined (default: the current one). */
  netns?: Netns | NetnsRef;
  /** Or a handle already open in it (borrowed). */
  host?: Handle;
  /** The link group pipewright's host ends are in (default PIPEWRIGHT_GROUP). */
  group?: number;
  /**
   * Only the crashed attaches this process had at work, and nothing else (no
   * leaked links, no namespaces, no other entries): what an engine does at
   * start for the attaches its predecessor was killed in the middle of.
   */
  writtenBy?: ProcessIdentity;
  /**
   * A scan made with { all: true, detail: true }, to reuse. It must be
   * newer than every link gc judges: pass one only when nothing attaches
   * meanwhile (gc otherwise lists the links first, then scans).
   */
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

/** An attach that did not finish, rolled back from its journal entry. */
export interface GcAttachment {
  /** The journal entry (its file name in the journal directory). */
  entry: string;
  status: 'crashed' | 'failed';
  owner: string;
  guest: string;
  guestNetns: string;
  guestIf: string;
  hostEnd?: string;
  /** The process that was attaching, and when it started. */
  pid: number;
  startedAt: string;
  /** What the rollback undid (in a dry run: would undo), in order. */
  actions: string[];
  /** What was found but is not provably that attach's, with what to do by hand. */
  leftBehind: string[];
  /** Undo actions that failed: the entry stays, for the next gc. */
  failed: string[];
  /** With `complete`: the attach run again from the entry. */
  completed?: { status: string } | { error: string; code?: string };
}

export interface GcResult {
  dryRun: boolean;
  target: string;
  /** Leaked links (the same list with and without dryRun). */
  links: GcLink[];
  /** Crashed and failed attaches (the same list with and without dryRun). */
  attachments: GcAttachment[];
  /** Journal entries of attachments that no longer exist (removed; in a dry run: to remove). */
  forgotten: string[];
  namespaces: GcNamespace[];
  /** Proven leaked when scanned, but no longer the same when deleting: left alone. */
  skipped: Array<{ name: string; index?: number; why: string }>;
  /** How the links went: by index (one), a temporary group, or nothing to do. */
  batch: { kind: 'index' | 'temporary-group' | 'none'; group?: number; ms?: number };
}

export async function gc(opts: GcOptions = {}): Promise<GcResult> {
  if (opts.owner !== undefined && (typeof opts.owner !== 'string' || opts.owner === '' || /\s/.test(opts.owner)))
    throw invalidArgument('owner', opts.owner, 'must be a non-empty owner tag without whitespace');
  const group = opts.group ?? PIPEWRIGHT_GROUP;
  const host = opts.host ?? (opts.netns === undefined ? await Handle.open() : await Handle.open(opts.netns));
  try {
    // Phase 1, no lock: the links first, then the journal, then the scan.
    const target = await netnsIdOf(host);
    const links = await host.link.list();
    const survey = await surveyJournal(host, target, links, opts.owner);
    const leaked: LeakedLink[] = [];
    if (opts.writtenBy) {
      const w = opts.writtenBy;
      survey.abandoned = survey.abandoned.filter(({ c }) => c.status === 'crashed' && c.entry.process.pid === w.pid && c.entry.process.startTime === w.startTime && c.entry.process.bootId === w.bootId);
      survey.forgotten = [];
      survey.temps = [];
    } else {
      const scan = opts.scan ?? (await scanNamespaces({ all: true, detail: true }));
      const rolledBackHostEnds = new Set(survey.abandoned.map((a) => a.c.entry.hostEnd).filter((n) => n !== undefined));
      const owned = ownedLinks(links, { group, ...(opts.owner !== undefined ? { owner: opts.owner } : {}) });
      for (const l of leakedLinks(target, owned, scan, await pairVethsExact(scan.namespaces))) {
        if (rolledBackHostEnds.has(l.link.name) || (await provenAlive(survey, l.link))) continue;
        leaked.push(l);
      }
    }
    // Complete entries of the links about to go are forgotten with them.
    const leakedIdx = new Set(leaked.map((l) => l.link.index));
    const forgotten = [...survey.forgotten, ...survey.entries.filter((c) => c.status === 'complete' && c.entry.hostEndIndex !== undefined && leakedIdx.has(c.entry.hostEndIndex) && !survey.forgotten.includes(c))];
    const orphans = new Map<string, ScannedNetns>();
    for (const l of leaked) if (l.reason === 'guest-orphaned' && l.guestNs) orphans.set(l.guestNs.id, l.guestNs);
    const result: GcResult = {
      dryRun: opts.dryRun === true,
      target,
      links: leaked.map((l) => ({ name: l.link.name, index: l.link.index, owner: l.owner, guest: l.guest, reason: l.reason, detail: l.detail })),
      attachments: survey.abandoned.map(({ c, plan }) => ({
        entry: c.file,
        status: c.status as 'crashed' | 'failed',
        owner: c.entry.owner,
        guest: c.entry.guest.label,
        guestNetns: c.entry.guestNetns,
        guestIf: c.entry.guestIf,
        ...(c.entry.hostEnd !== undefined ? { hostEnd: c.entry.hostEnd } : {}),
        pid: c.entry.process.pid,
        startedAt: c.entry.startedAt,
        actions: plan.actions,
        leftBehind: plan.leftBehind,
        failed: [],
      })),
      forgotten: forgotten.map((c) => c.file),
      namespaces: [...orphans.values()].map((n) => {
        const plan = planRelease(n);
        return { id: n.id, mounts: plan.releasable.map(mountLabel), kept: plan.kept, remaining: [] };
      }),
      skipped: [],
      batch: { kind: 'none' },
    };
    if (opts.dryRun) return result;

    // Phase 2: under the exclusive lock, exactly what phase 1 proved.
    const release = await lockNamespace(target, 'exclusive');
    const deleted = new Set<number>();
    try {
      if (leaked.length) {
        const r = await reclaimProven(host, leaked.map((l) => ({ index: l.link.index, name: l.link.name, ...(l.link.alias !== undefined ? { alias: l.link.alias } : {}), ...(l.link.group !== undefined ? { group: l.link.group } : {}) })));
        result.batch = r.batch;
        for (const d of r.deleted) deleted.add(d.index);
        for (const s of r.skipped) result.skipped.push({ name: s.link.name, index: s.link.index, why: s.why });
      }
      for (const a of result.attachments) {
        const was = survey.abandoned.find((x) => x.c.file === a.entry)!.c;
        const now = await rereadEntry(a.entry);
        const still = now && now.raw === was.raw ? (await classify([now]))[0]! : null;
        if (!still || !abandoned(still)) {
          result.skipped.push({ name: a.entry, why: 'its journal entry changed or went while gc ran' });
          a.actions = [];
          continue;
        }
        const out = await rollBackAttachment(host, still.entry, { dryRun: false });
        a.actions = out.actions;
        a.leftBehind = out.leftBehind;
        a.failed = out.failed;
        // An undo that failed keeps the entry, for the next gc.
        if (!out.failed.length) await removeEntry(a.entry);
      }
      for (const c of forgotten) {
        // The entry of a leaked link goes only if the link did.
        if (!survey.forgotten.includes(c) && !deleted.has(c.entry.hostEndIndex!)) continue;
        const now = await rereadEntry(c.file);
        if (now && now.raw === c.raw) await removeEntry(c.file);
      }
      for (const t of survey.temps) await removeEntry(t).catch(() => undefined);
    } finally {
      await release();
    }

    for (const ns of result.namespaces) {
      const released = await releaseMounts(orphans.get(ns.id)!);
      ns.mounts = released.released;
      ns.kept = released.kept;
      const left = await waitReleased({ ino: orphans.get(ns.id)!.ino, dev: orphans.get(ns.id)!.dev }, 2000);
      ns.remaining = left.releases.map((r) => r.action);
    }
    if (opts.complete) await completeAgain(result, survey.abandoned.map((a) => a.c));
    return result;
  } finally {
    if (!opts.host) await host.close();
  }
}

/** Runs each rolled-back attach again from its journal entry (gc --complete). */
async function completeAgain(result: GcResult, entries: ReadonlyArray<{ file: string; entry: import('../ownership').AttachmentEntry }>): Promise<void> {
  for (const a of result.attachments) {
    if (!a.actions.length && result.skipped.some((s) => s.name === a.entry)) continue;
    const e = entries.find((x) => x.file === a.entry)!.entry;
    const guest = guestRefOf(e.guest);
    if (!guest) {
      a.completed = { error: 'its guest is an anonymous namespace: nothing can name it to attach again' };
      continue;
    }
    const s = e.spec;
    try {
      const r = await attach({
        hostIf: s.hostIf, guest, guestIf: s.guestIf, owner: s.owner, group: s.group, arp: s.arp, directPhys: s.directPhys,
        ...(s.hostEnd !== undefined ? { hostEnd: s.hostEnd } : {}), ...(s.address !== undefined ? { address: s.address } : {}),
        ...(s.gateway !== undefined ? { gateway: s.gateway } : {}), ...(s.mac !== undefined ? { mac: s.mac } : {}),
        ...(s.vlan !== undefined ? { vlan: s.vlan } : {}), ...(s.mtu !== undefined ? { mtu: s.mtu } : {}),
        ...(s.dhcp !== undefined ? { dhcp: s.dhcp as never } : {}),
      });
      a.completed = { status: r.status };
    } catch (err) {
      a.completed = { error: (err as Error).message, ...(typeof (err as { code?: unknown }).code === 'string' ? { code: (err as { code: string }).code } : {}) };
    }
  }
}
