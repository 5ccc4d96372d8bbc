// Host ends deleted while their guests live. A detach deletes the host end
// and then forgets its journal entry; a person with `ip link del` leaves the
// entry behind. The reconciler cannot tell the two apart when the link goes,
// so it notes the entry here: the journal watch forgets it when a detach
// removes or rewrites the entry (no read), and one sweep every GONE_GRACE_MS
// hands back those still waiting, to be read again and reported when
// unchanged. One map and one timer, never a timer or a read per detach.
import { GONE_GRACE_MS } from './port-rules';

export class GoneWhileLive<T> {
  readonly #waiting = new Map<string, { item: T; at: number }>();
  readonly #lookAgain: (item: T) => void;
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;

  /** lookAgain: called with each item whose entry nothing changed within GONE_GRACE_MS. */
  constructor(lookAgain: (item: T) => void) {
    this.#lookAgain = lookAgain;
  }

  /** The host end of the entry in `file` went while its guest lives. */
  add(file: string, item: T): void {
    if (this.#closed) return;
    this.#waiting.set(file, { item, at: Date.now() });
    this.#arm();
  }

  /** The entry in `file` changed or went (a detach, a new attach): nothing to tell. */
  forget(file: string): void {
    this.#waiting.delete(file);
  }

  close(): void {
    this.#closed = true;
    if (this.#sweep) clearTimeout(this.#sweep);
    this.#sweep = null;
    this.#waiting.clear();
  }

  #arm(): void {
    if (this.#sweep || this.#closed || this.#waiting.size === 0) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      this.#sweepNow();
    }, GONE_GRACE_MS);
    this.#sweep.unref();
  }

  /** Hands back the entries noted GONE_GRACE_MS ago or more, and waits for the rest. */
  #sweepNow(): void {
    const now = Date.now();
    for (const [file, w] of this.#waiting) {
      if (now - w.at < GONE_GRACE_MS) continue;
      this.#waiting.delete(file);
      this.#lookAgain(w.item);
    }
    this.#arm();
  }
}
