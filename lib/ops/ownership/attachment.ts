// An attach's record in the journal, from before its first kernel change to
// its end, under the shared lock of its host namespace:
//   begin()    takes the lock and writes the entry 'in-progress' (together);
//   note()     records something a crash would leave that the plan alone
//              does not say (the index of a bridge it created, a default
//              route it is about to replace), before it matters;
//   complete() after verification: the entry becomes 'complete' (started at
//              once, awaited by settled(): the write overlaps the steps
//              after verification, the gratuitous ARP);
//   failed()   after its rollback: the entry goes, or stays as 'failed'
//              listing what the rollback could not undo.
// complete() and failed() release the lock. A process killed in between
// leaves the entry 'in-progress' with a dead writer: a crashed attach.
import type { AttachmentEntry } from './entry';
import { entryFileName } from './entry';
import { JOURNAL_DIR, removeEntry, serialize, writeEntry } from './journal';
import { lockSharedAndWrite, Release } from './lock';
import { selfIdentity } from './process-identity';

export type AttachmentDraft = Omit<AttachmentEntry, 'version' | 'state' | 'process' | 'startedAt' | 'updatedAt'>;

export class AttachmentRecord {
  #entry: AttachmentEntry;
  #release: Release;
  /** The last write: writes go one after another, in order. */
  #writing: Promise<unknown> = Promise.resolve();
  #completion: Promise<string | null> | null = null;

  private constructor(readonly file: string, entry: AttachmentEntry, release: Release) {
    this.#entry = entry;
    this.#release = release;
  }

  get entry(): Readonly<AttachmentEntry> {
    return this.#entry;
  }

  /** `file`: the entry's name, when the caller chose it beforehand (entryFileName). */
  static async begin(draft: AttachmentDraft, file = entryFileName(draft.guestNetns, draft.guestIf)): Promise<AttachmentRecord> {
    const now = new Date().toISOString();
    const entry: AttachmentEntry = { version: 1, state: 'in-progress', ...draft, process: await selfIdentity(), startedAt: now, updatedAt: now };
    // Both before the first kernel change, in one trip to the addon.
    const release = await lockSharedAndWrite(draft.hostNetns, JOURNAL_DIR, file, serialize(entry));
    return new AttachmentRecord(file, entry, release);
  }

  /** Writes after the writes before it. */
  #then<T>(write: () => Promise<T>): Promise<T> {
    const p = this.#writing.then(write, write);
    this.#writing = p.catch(() => undefined);
    return p;
  }

  note(patch: Partial<AttachmentEntry>): Promise<void> {
    return this.#then(async () => {
      const next = { ...this.#entry, ...patch, updatedAt: new Date().toISOString() };
      await writeEntry(this.file, next);
      this.#entry = next;
    });
  }

  /**
   * The attachment exists and is verified: starts writing the entry
   * 'complete' (settled() waits for it). If that write fails the entry is
   * removed instead, since an entry left 'in-progress' would be rolled back
   * by gc once this process has exited; settled() then returns a warning.
   */
  complete(patch: Partial<AttachmentEntry>): void {
    this.#completion ??= this.note({ ...patch, state: 'complete' }).then(
      () => null,
      async (e: Error) => {
        const removed = await removeEntry(this.file).then(() => true, () => false);
        return `could not mark the attachment complete in the journal (${e.message})${removed ? '; its entry was removed: it is owned by its marks alone' : `; remove ${this.file} from the journal by hand`}`;
      },
    );
  }

  /** After the last step: the entry is complete on disk (or a warning says why not); the lock is released. */
  async settled(patch: Partial<AttachmentEntry>): Promise<string | null> {
    this.complete(patch);
    try {
      return await this.#completion!;
    } finally {
      await this.#release();
    }
  }

  /** After the attach's own rollback: nothing left → no entry; something left → 'failed', for gc. */
  async failed(leftBehind: string[]): Promise<void> {
    try {
      // After any write still on its way (a completion started before a later step failed).
      await this.#completion;
      if (leftBehind.length === 0) await this.#then(() => removeEntry(this.file));
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
