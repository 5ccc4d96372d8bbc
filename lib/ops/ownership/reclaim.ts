// Deleting links gc proved leaked, and only those: each is read again by
// index at the moment of deletion and must still be the link the proof was
// about (same index, name, alias and group); those are moved into a fresh
// temporary group and deleted with one request for that group (the
// kernel's batched teardown: one RCU wait instead of one per link). A link
// that changed, or that appeared after the scan, is never in the group.
// Runs under the namespace's exclusive lock (lock.ts).
import type { Handle } from '../../core/handle';
import { isNetlinkError } from '../../core/errors';
import type { Link } from '../../core/types';

export interface ProvenLink {
  index: number;
  name: string;
  alias?: string;
  group?: number;
}

export interface ReclaimResult {
  deleted: ProvenLink[];
  /** Proven when scanned, but no longer the same link when deleting: left alone. */
  skipped: Array<{ link: ProvenLink; why: string }>;
  batch: { kind: 'index' | 'temporary-group' | 'none'; group?: number; ms?: number };
}

function changed(was: ProvenLink, now: Link | null): string | null {
  if (!now) return 'it is gone already';
  if (now.name !== was.name) return `it is named ${now.name} now`;
  if ((now.alias ?? '') !== (was.alias ?? '')) return `its alias changed to '${now.alias ?? ''}'`;
  if ((now.group ?? 0) !== (was.group ?? 0)) return `it moved to group ${now.group ?? 0}`;
  return null;
}

/** A group number no link in the namespace is in. */
async function freeGroup(h: Handle): Promise<number> {
  const used = new Set((await h.link.list()).map((l) => l.group ?? 0));
  for (;;) {
    // node:crypto loads on first use: every attach loads this module, few reclaim.
    const { randomInt } = require('node:crypto') as typeof import('node:crypto');
    const g = 0x70770000 + randomInt(1, 0xffff);
    if (!used.has(g)) return g;
  }
}

export async function reclaimProven(h: Handle, proven: readonly ProvenLink[]): Promise<ReclaimResult> {
  const result: ReclaimResult = { deleted: [], skipped: [], batch: { kind: 'none' } };
  const now = await Promise.all(proven.map((p) => h.link.find(p.index)));
  let same: ProvenLink[] = [];
  proven.forEach((p, i) => {
    const why = changed(p, now[i]!);
    if (why) result.skipped.push({ link: p, why });
    else same.push(p);
  });
  if (same.length === 0) return result;
  const started = performance.now();
  if (same.length === 1) {
    try {
      await h.link.del(same[0]!.index);
    } catch (e) {
      if (!isNetlinkError(e, 'ENODEV')) throw e;
      result.skipped.push({ link: same[0]!, why: 'it went while being deleted' });
      same = [];
    }
    result.batch = { kind: 'index' };
  } else {
    const temp = await freeGroup(h);
    // One hop for the moves; a link that vanished meanwhile stops the batch
    // there (ENODEV): drop it and move the rest.
    let pending = same;
    const moved: ProvenLink[] = [];
    while (pending.length) {
      try {
        await h.link.setEach(pending.map((p) => [p.index, { group: temp }] as const));
        moved.push(...pending);
        pending = [];
      } catch (e) {
        const at = (e as { failedIndex?: number }).failedIndex;
        if (!isNetlinkError(e, 'ENODEV') || at === undefined) throw e;
        moved.push(...pending.slice(0, at));
        result.skipped.push({ link: pending[at]!, why: 'it went while being deleted' });
        pending = pending.slice(at + 1);
      }
    }
    same = moved;
    if (moved.length) await h.link.delGroup(temp);
    result.batch = { kind: 'temporary-group', group: temp };
  }
  result.deleted = same;
  result.batch.ms = Math.round(performance.now() - started);
  return result;
}
