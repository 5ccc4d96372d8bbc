// Removing the journal entries of an attachment that is gone (detach), but
// never the entry of an attach at work right now: that attach removes or
// completes its own.
import { identityPrefix } from './entry';
import { readEntries, removeEntry } from './journal';
import { classify } from './status';

/** Removes the entries of one guest interface; returns how many went. */
export async function forgetAttachment(guestNetns: string, guestIf: string): Promise<number> {
  const entries = await classify(await readEntries(identityPrefix(guestNetns, guestIf)));
  let n = 0;
  for (const c of entries) if (c.status !== 'in-progress' && (await removeEntry(c.file))) n++;
  return n;
}
