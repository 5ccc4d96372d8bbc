// The flood list of a VXLAN device: its all-zeros FDB entries, one per
// remote VTEP that gets broadcast, unknown-unicast and multicast frames.
// Reconciling it is a set difference; pure, so it is unit-tested alone.
import type { Neighbour } from '../../core/types';

export const FLOOD_MAC = '00:00:00:00:00:00';

/** The remote addresses the device floods to now, from its FDB entries (its own, not the bridge's). */
export function floodPeers(entries: readonly Neighbour[], index: number): string[] {
  const out: string[] = [];
  for (const e of entries) {
    if (e.index !== index || e.lladdr !== FLOOD_MAC || e.address === undefined) continue;
    if (!out.includes(e.address)) out.push(e.address);
  }
  return out;
}

export interface FloodDiff {
  /** Wanted and missing, in the order wanted. */
  add: string[];
  /** Present and no longer wanted, in the order present. */
  remove: string[];
  /** Present and wanted. */
  keep: string[];
}

/** What makes `current` exactly `wanted` (both already normalized addresses). */
export function floodDiff(current: readonly string[], wanted: readonly string[]): FloodDiff {
  const have = new Set(current);
  const want = new Set(wanted);
  return {
    add: wanted.filter((a) => !have.has(a)),
    remove: current.filter((a) => !want.has(a)),
    keep: current.filter((a) => want.has(a)),
  };
}
