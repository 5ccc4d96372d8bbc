// What the engine's standing repair (reconcile.ts) holds a followed port
// to, and how long it waits on what: the problems a host end can have, when
// repairs become a fight, and the incidents it keeps. Pure: unit-tested.
import type { Link } from '../../core/types';

export interface Incident {
  at: string;
  hostEnd: string;
  index: number;
  what: string;
  /** What the engine did about it. */
  action: 'repaired' | 'renamed-back' | 'reported' | 'cleaned' | 'repair-failed';
  detail?: string;
}

export interface TrackedPort {
  /** True once the engine stopped repairing it (something kept undoing it). */
  givenUp?: boolean;
  index: number;
  name: string;
  bridge: number;
  guestIf: string;
  guestNetns: string;
  file: string;
}

/** How many incidents `engine status` keeps (the oldest go first). */
export const KEEP_INCIDENTS = 200;

/**
 * How many repairs of one port within FIGHT_WINDOW_MS mean that something
 * undoes it as fast as it is put back (two agents fighting would burn CPU
 * and flood the log forever): the engine then stops repairing that port,
 * reports it, and leaves it to a person (a new attach of it starts afresh).
 */
export const FIGHT_REPAIRS = 20;
export const FIGHT_WINDOW_MS = 10_000;

/**
 * How long after its host end was deleted, while its guest lives, an entry
 * is looked at again (at least; a sweep runs this often): a detach forgets
 * it right after the delete, so one still there unchanged was deleted by
 * hand (and is reported). Generous, so that a detach on a loaded machine is
 * not taken for a hand.
 */
export const GONE_GRACE_MS = 5000;

/** The longest a journal change waits for the command at work (Reconciler.hold). */
export const HOLD_MAX_MS = 20;

/** Whether repairs at these times (ms, oldest first) are a fight. */
export function isFight(repairedAt: readonly number[], now: number): boolean {
  return repairedAt.filter((t) => now - t <= FIGHT_WINDOW_MS).length >= FIGHT_REPAIRS;
}

/** What differs from the port as attached ('' when nothing does). */
export function portProblems(link: Link, bridge: number, name: string): string {
  const p = [];
  if (link.master !== bridge) p.push(`released from its bridge (master ${link.master ?? 'none'})`);
  if (!link.up) p.push('set down');
  if (link.name !== name) p.push(`renamed to ${link.name}`);
  return p.join(' and ');
}
