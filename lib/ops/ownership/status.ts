// Where an attachment stands, from its journal entry and its writer's life:
//  - complete:    verified and recorded;
//  - in-progress: its attach is at work right now (the writer still runs);
//  - crashed:     'in-progress', but the writer is gone (killed, crashed);
//  - failed:      its attach failed and its own rollback left something behind.
// gc rolls back crashed and failed ones; doctor reports them.
import type { AttachmentEntry } from './entry';
import { processAlive } from './process-identity';
import type { StoredEntry } from './journal';

export type AttachmentStatus = 'complete' | 'in-progress' | 'crashed' | 'failed';

export async function statusOf(e: AttachmentEntry): Promise<AttachmentStatus> {
  if (e.state === 'complete' || e.state === 'failed') return e.state;
  return (await processAlive(e.process)) ? 'in-progress' : 'crashed';
}

export interface Classified extends StoredEntry {
  status: AttachmentStatus;
}

export async function classify(entries: readonly StoredEntry[]): Promise<Classified[]> {
  return Promise.all(entries.map(async (s) => ({ ...s, status: await statusOf(s.entry) })));
}

/** Unfinished: the attach did not get to its end (crashed, failed) or is still at it. */
export function unfinished(c: Classified): boolean {
  return c.status !== 'complete';
}

/** Needs gc: nothing will ever finish or remove it on its own. */
export function abandoned(c: Classified): boolean {
  return c.status === 'crashed' || c.status === 'failed';
}

/**
 * An entry that a later one of the same guest interface replaced: a new
 * attach could start only once the kernel showed nothing of the old one
 * (its plan would have met the old objects as a conflict), so whatever
 * now carries that identity belongs to the newer entry.
 */
export function superseded(c: Classified, all: readonly Classified[]): boolean {
  return all.some(
    (o) => o.file !== c.file && o.entry.guestNetns === c.entry.guestNetns && o.entry.guestIf === c.entry.guestIf && o.entry.startedAt > c.entry.startedAt && (o.status === 'complete' || o.status === 'in-progress'),
  );
}
