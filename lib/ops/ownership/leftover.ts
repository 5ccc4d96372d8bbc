// What attach says when its plan meets pipewright's own unfinished work for
// the same guest interface: an attach at work right now, or what a crashed
// or failed one left. Read only on those paths (a conflict, or an
// attachment that looks complete): a clean attach never reads the journal.
import type { Link } from '../../core/types';
import { identityPrefix } from './entry';
import { readEntries } from './journal';
import { classify, Classified, unfinished } from './status';
import { fixFor } from './commands';
import { parseOwnerAlias } from './marks';
import { journalPath } from './journal';
import { sameGuest } from './cookie';

/**
 * The newest unfinished entry of a guest interface (of this very guest, when
 * its cookie is given), if any; `own`: the entry the asking attach is
 * writing itself, which is not another's work.
 */
export async function unfinishedEntry(guestNetns: string, guestIf: string, cookie?: string, own?: string): Promise<Classified | null> {
  const all = (await classify((await readEntries(identityPrefix(guestNetns, guestIf))).filter((s) => s.file !== own && sameGuest(s.entry, cookie)))).filter(unfinished);
  all.sort((a, b) => (a.entry.startedAt < b.entry.startedAt ? 1 : -1));
  return all[0] ?? null;
}

function describe(c: Classified): string {
  const p = c.entry.process;
  switch (c.status) {
    case 'in-progress':
      return `an attach of this guest interface is at work right now (pid ${p.pid}, since ${c.entry.startedAt})`;
    case 'failed':
      return `it is pipewright's own leftover: the attach that made it (pid ${p.pid}) failed and could not roll it back (journal ${journalPath()}/${c.file})`;
    default:
      return `it is pipewright's own leftover: the attach that made it (pid ${p.pid}, started ${c.entry.startedAt}) did not finish; its process is gone (journal ${journalPath()}/${c.file})`;
  }
}

/** Why an unfinished entry's objects are there, and (unless its attach is still at work) the commands that remove or finish them. */
export function leftoverSentence(c: Classified): string {
  return c.status === 'in-progress' ? describe(c) : `${describe(c)}; ${fixFor(c.entry)}, then run this again`;
}

/**
 * The sentence to append to a conflict about the guest interface (and the
 * host end, when there is one): why it is there and the command that
 * removes or finishes it. Empty when neither the journal nor a mark says
 * it is pipewright's.
 */
export async function leftoverHint(guestNetns: string, guestIf: string, hostEnd: Link | null, guestRef: string | null, cookie?: string): Promise<string> {
  const c = await unfinishedEntry(guestNetns, guestIf, cookie).catch(() => null);
  if (c) return `: ${leftoverSentence(c)}`;
  const mark = parseOwnerAlias(hostEnd?.alias);
  if (mark && mark.guest === guestNetns && mark.guestIf === guestIf) {
    // Not in the journal, and its guest is alive: gc leaves it; detach (or ip) removes it.
    const detach = guestRef ? `pipewright detach ${guestRef} -i ${guestIf}` : `ip link del ${hostEnd!.name}`;
    return `: its host end '${hostEnd!.name}' carries pipewright's mark (owner ${mark.owner}), so it is pipewright's own leftover; remove it with '${detach}', then run this again`;
  }
  return '';
}
