// Removing the journal entries of an attachment that is gone (detach), but
// never the entry of an attach at work right now: that attach removes or
// completes its own.
import { sameGuest } from './cookie';
import { identityPrefix } from './entry';
import { readEntries, removeEntry } from './journal';
import { classify } from './status';

/**
 * Removes the entries of one guest interface; returns how many went. The
 * guest's cookie, when known, keeps the entries of an older namespace that
 * had the same inode number (another attachment's record) out of it.
 */
export async function forgetAttachment(guestNetns: string, guestIf: string, guestCookie?: string): Promise<number> {
  const entries = await classify(await readEntries(identityPrefix(guestNetns, guestIf)));
  let n = 0;
  for (const c of entries) if (c.status !== 'in-progress' && sameGuest(c.entry, guestCookie) && (await removeEntry(c.file))) n++;
  return n;
}
