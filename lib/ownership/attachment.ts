// An attach's record in the journal, from before its first kernel change to
// its end, under the shared lock of its host namespace:
//   begin()    takes the lock and writes the entry 'in-progress' (together);
//   note()     records something a crash would leave that the plan alone
//              does not say (the index of a bridge it created, a default
//              route it is about to replace), before it matters;
//   complete() after verification: the entry becomes 'complete';
//   failed()   after its rollback: the entry goes, or stays as 'failed'
//              listing what the rollback could not undo.
// complete() and failed() release the lock. A process killed in between
// leaves the entry 'in-progress' with a dead writer: a crashed attach.
import type { AttachmentEntry } from './entry';
import { entryFileName } from './entry';
import { removeEntry, writeEntry } from './journal';
import { lockNamespace, Release } from './lock';
import { selfIdentity } from './process-identity';

export type AttachmentDraft = Omit<AttachmentEntry, 'version' | 'state' | 'process' | 'startedAt' | 'updatedAt'>;

export class AttachmentRecord {
  #entry: AttachmentEntry;
  #release: Release;

  private constructor(readonly file: string, entry: AttachmentEntry, release: Release) {
    this.#entry = entry;
    this.#release = release;
  }

  get entry(): Readonly<AttachmentEntry> {
    return this.#entry;
  }

  static async begin(draft: AttachmentDraft): Promise<AttachmentRecord> {
    const now = new Date().toISOString();
    const entry: AttachmentEntry = { version: 1, state: 'in-progress', ...draft, process: await selfIdentity(), startedAt: now, updatedAt: now };
    const file = entryFileName(draft.guestNetns, draft.guestIf);
    // Both before the first kernel change, neither waiting for the other.
    const [locked, written] = await Promise.allSettled([lockNamespace(draft.hostNetns, 'shared'), writeEntry(file, entry)]);
    if (locked.status === 'rejected' || written.status === 'rejected') {
      if (written.status === 'fulfilled') await removeEntry(file).catch(() => undefined);
      if (locked.status === 'fulfilled') await locked.value();
      throw locked.status === 'rejected' ? locked.reason : (written as PromiseRejectedResult).reason;
    }
    return new AttachmentRecord(file, entry, locked.value);
  }

  async note(patch: Partial<AttachmentEntry>): Promise<void> {
    const next = { ...this.#entry, ...patch, updatedAt: new Date().toISOString() };
    await writeEntry(this.file, next);
    this.#entry = next;
  }

  /**
   * The attachment exists and is verified. Returns a warning when the entry
   * could not be marked complete: it is then removed instead, since an
   * entry left 'in-progress' would be rolled back by gc once this process
   * has exited.
   */
  async complete(patch: Partial<AttachmentEntry>): Promise<string | null> {
    try {
      await this.note({ ...patch, state: 'complete' });
      return null;
    } catch (e) {
      const removed = await removeEntry(this.file).then(() => true, () => false);
      return `could not mark the attachment complete in the journal (${(e as Error).message})${removed ? '; its entry was removed: it is owned by its marks alone' : `; remove ${this.file} from the journal by hand`}`;
    } finally {
      await this.#release();
    }
  }

  /** After the attach's own rollback: nothing left → no entry; something left → 'failed', for gc. */
  async failed(leftBehind: string[]): Promise<void> {
    try {
      if (leftBehind.length === 0) await removeEntry(this.file);
      else await this.note({ state: 'failed', leftBehind });
    } finally {
      await this.#release();
    }
  }

  /** Gives the lock back without touching the entry (the attach failed before changing anything). */
  async abandon(): Promise<void> {
    try {
      await removeEntry(this.file);
    } finally {
      await this.#release();
    }
  }
}
