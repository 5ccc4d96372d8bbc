// Which incarnation of a namespace an entry is about. A namespace's dev:ino
// names it only while it lives (the kernel gives the inode to the next new
// namespace once it is free), so an entry of a guest that died without a
// detach would seem to describe the next guest with that inode. Entries
// record the namespace's cookie (SO_NETNS_COOKIE, never reused: the addon's
// netns.cookie) and are matched on it.
import type { Handle } from '../../core/handle';
import type { AttachmentEntry } from './entry';

// A handle's namespace never changes: asked once per handle.
const asked = new WeakMap<Handle, Promise<string>>();

/** The cookie of the namespace a handle works in. */
export function netnsCookie(h: Handle): Promise<string> {
  let p = asked.get(h);
  if (!p) {
    p = h.run('netns.cookie', {}).then((r) => r.cookie);
    asked.set(h, p);
    p.catch(() => asked.delete(h));
  }
  return p;
}

/** Whether an entry was written for this very guest (the cookie matches, or one of the two is not known). */
export function sameGuest(e: Pick<AttachmentEntry, 'guestCookie'>, cookie: string | undefined): boolean {
  return e.guestCookie === undefined || cookie === undefined || e.guestCookie === cookie;
}

/** Whether an entry was written in this very host namespace. */
export function sameHost(e: Pick<AttachmentEntry, 'hostCookie'>, cookie: string | undefined): boolean {
  return e.hostCookie === undefined || cookie === undefined || e.hostCookie === cookie;
}
