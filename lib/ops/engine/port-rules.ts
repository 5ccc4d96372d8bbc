// What the engine's standing repair (reconcile.ts) holds a followed port
// to, and how long it waits on what: the problems a host end can have, when
// repairs become a fight, and the incidents it keeps. Pure: unit-tested.
import type { Link } from '../../core/types';
import { PIPEWRIGHT_GROUP } from '../ownership/marks';

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

/**
 * How many ports a look at many (the engine's start, lost link events) has
 * at work at once. One read of the host's links says which ports need a look
 * of their own; those are looked at this many at a time, so that a repair an
 * event asks for meanwhile waits behind a few, not behind hundreds (a
 * thousand entries of guests gone while no engine ran, all cleaned at once,
 * held a repair back for seconds).
 */
export const LOOK_AT_ONCE = 4;

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

/** Whether the link at a followed index is still the attachment's: its alias, or pipewright's group. Never touched otherwise. */
export function carriesOurMark(link: Link, alias: string): boolean {
  return link.alias === alias || link.group === PIPEWRIGHT_GROUP;
}

/**
 * Of many followed ports, from one read of the host's links: those to put
 * back (changed, or the index now names a link without our marks: looked at,
 * to be reported) and those whose host end is gone. The rest need nothing.
 */
export function portsToLookAt(ports: Iterable<{ index: number; name: string; bridge: number; alias: string }>, links: ReadonlyMap<number, Link>): { repairs: number[]; gone: number[] } {
  const repairs: number[] = [];
  const gone: number[] = [];
  for (const p of ports) {
    const l = links.get(p.index);
    if (!l) gone.push(p.index);
    else if (!carriesOurMark(l, p.alias) || portProblems(l, p.bridge, p.name) !== '') repairs.push(p.index);
  }
  return { repairs, gone };
}
