// The exact commands that remove or finish an unfinished attachment, for
// doctor's fixes, gc's report and attach's conflict message.
import type { AttachmentEntry } from './entry';
import { cliGuestRef } from './guest-ref';

function ownerFlag(owner: string): string {
  return owner === 'pipewright' ? '' : ` --owner ${owner}`;
}

/** Rolls back every crashed attach of the entry's owner in this namespace. */
export function gcCommand(e: Pick<AttachmentEntry, 'owner'>): string {
  return `pipewright gc${ownerFlag(e.owner)}`;
}

/** Rolls them back and runs each attach again from its journal entry. */
export function completeCommand(e: Pick<AttachmentEntry, 'owner'>): string {
  return `pipewright gc --complete${ownerFlag(e.owner)}`;
}

/** Removes this one attachment's interface (null when the guest has no name the command line can give). */
export function detachCommand(e: Pick<AttachmentEntry, 'guest' | 'guestIf'>): string | null {
  const ref = cliGuestRef(e.guest);
  return ref === null ? null : `pipewright detach ${ref} -i ${e.guestIf}`;
}

/** "remove it with …, or finish it with …" */
export function fixFor(e: AttachmentEntry): string {
  const detach = detachCommand(e);
  return `remove it with '${gcCommand(e)}'${detach ? ` (or just this one: '${detach}')` : ''}, or finish it with '${completeCommand(e)}'`;
}
