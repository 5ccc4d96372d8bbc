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

/** A veth attachment known by its host end: the host namespace it lives in, the name and owner it was given. */
export interface VethIdentity {
  hostNetns: string;
  hostEnd: string;
  owner: string;
  guestIf: string;
  /** The guest namespace's "dev:ino" when known: only its entries are read. */
  guestNetns?: string;
}

/**
 * Removes the entries of a veth attachment whose guest namespace can no
 * longer be entered (detach cannot reach it), once the caller has seen its
 * host end gone: the entry then describes nothing. Matched on the host end's
 * name, its owner and its host namespace, which name one attachment, so an
 * entry of a later namespace that got the same inode stays. An attach at
 * work (its process alive, its entry in progress) is left alone.
 */
export async function forgetVeth(v: VethIdentity): Promise<number> {
  const prefix = v.guestNetns !== undefined ? identityPrefix(v.guestNetns, v.guestIf) : '';
  const entries = await classify(await readEntries(prefix));
  let n = 0;
  for (const c of entries) {
    const e = c.entry;
    const same = e.mode === 'bridge' && e.hostEnd === v.hostEnd && e.owner === v.owner && e.hostNetns === v.hostNetns && e.guestIf === v.guestIf;
    if (same && c.status !== 'in-progress' && (await removeEntry(c.file))) n++;
  }
  return n;
}
