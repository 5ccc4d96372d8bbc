// gc's reading of the ownership journal for one host namespace: attaches
// that crashed (or failed and could not undo themselves), to roll back;
// entries of attachments that are gone, to forget; and what the journal
// proves about links the scan would call leaked.
import type { Handle } from '../../core/handle';
import type { Link } from '../../core/types';
import {
  abandoned, classify, Classified, guestReachable, netnsCookie, readEntries, rollBackAttachment, sameHost, superseded, tempFiles,
} from '../ownership';
import type { RollbackOutcome } from '../ownership';

export interface JournalSurvey {
  /** Every entry of this namespace (and owner), classified. */
  entries: Classified[];
  /** Crashed or failed attaches, each with what its rollback would do. */
  abandoned: Array<{ c: Classified; plan: RollbackOutcome }>;
  /** Entries whose attachment no longer exists (or that a newer one replaced): to remove. */
  forgotten: Classified[];
  /** Temporary files of writers killed mid-write. */
  temps: string[];
}

/** Whether a complete entry's attachment is still there, from what gc already read. */
async function stillThere(c: Classified, links: readonly Link[]): Promise<boolean> {
  const e = c.entry;
  if (e.mode === 'bridge') return links.some((l) => l.index === e.hostEndIndex && l.alias === e.alias);
  // A macvlan or a moved device lives in the guest: there while the guest is.
  return guestReachable(e.guest, e.guestNetns);
}

export async function surveyJournal(host: Handle, target: string, links: readonly Link[], owner: string | undefined): Promise<JournalSurvey> {
  // This namespace's; those of an earlier one that had its inode describe
  // what died with that namespace: forgotten.
  const cookie = await netnsCookie(host).catch(() => undefined);
  const here = (await readEntries()).filter((s) => s.entry.hostNetns === target && (owner === undefined || s.entry.owner === owner));
  const entries = await classify(here.filter((s) => sameHost(s.entry, cookie)));
  const dead = await classify(here.filter((s) => !sameHost(s.entry, cookie)));
  const survey: JournalSurvey = { entries, abandoned: [], forgotten: [...dead], temps: [] };
  for (const c of entries) {
    if (abandoned(c)) {
      if (superseded(c, entries)) survey.forgotten.push(c);
      else survey.abandoned.push({ c, plan: await rollBackAttachment(host, c.entry, { dryRun: true }) });
    } else if (c.status === 'complete' && !(await stillThere(c, links))) survey.forgotten.push(c);
  }
  // A live writer (any process with that PID: the name has no start time) may be mid-write.
  for (const t of await tempFiles()) if (!pidExists(t.pid)) survey.temps.push(t.file);
  return survey;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Links the scan calls leaked that the journal says are alive: a complete
 * entry whose guest its record still reaches (a scan can miss a holder that
 * moved while it looked), and host ends an attach is making right now.
 */
export async function provenAlive(survey: JournalSurvey, link: Link): Promise<boolean> {
  for (const c of survey.entries) {
    const e = c.entry;
    if (c.status === 'in-progress' && e.hostEnd === link.name) return true;
    if (c.status === 'complete' && e.hostEndIndex === link.index && e.alias === link.alias && (await guestReachable(e.guest, e.guestNetns))) return true;
  }
  return false;
}
