// handle.watch(): kernel events as an async iterator. The subscription socket
// is polled by the event loop (no thread, no blocking); events queue until
// the consumer takes them.
import { transport, NativeEvent, NativeSubscription } from '../native';
import { invalidArgument, PipewrightError } from '../errors';
import type { Address, Link, NetEvent, Neighbour, Route, WatchKind } from '../types';

const KINDS: readonly WatchKind[] = ['link', 'addr', 'route', 'neigh', 'nsid'];

export interface WatchOptions {
  /** Stops the watcher (the iterator ends) when aborted. */
  signal?: AbortSignal;
}

export interface WaitForOptions {
  /**
   * Leave the subscription open when waitFor settles, to wait again or
   * iterate on; the caller then closes the watcher. By default waitFor
   * closes it: a one-off wait must not keep the process alive.
   */
  keepOpen?: boolean;
}

function toEvent(e: NativeEvent): NetEvent | null {
  switch (e.kind) {
    case 'link': return { kind: 'link', action: e.action!, link: e.object as unknown as Link };
    case 'addr': return { kind: 'addr', action: e.action!, addr: e.object as unknown as Address };
    case 'route': return { kind: 'route', action: e.action!, route: e.object as unknown as Route };
    case 'neigh': return { kind: 'neigh', action: e.action!, neigh: e.object as unknown as Neighbour };
    case 'nsid': return { kind: 'nsid', action: e.action!, nsid: (e.object as { nsid: number }).nsid };
    case 'overrun': return { kind: 'overrun' };
    default: return null;
  }
}

export class Watcher implements AsyncIterableIterator<NetEvent> {
  /** Resolves once the subscription is in place: events from then on are seen. */
  readonly ready: Promise<void>;
  #sub: NativeSubscription | null = null;
  #queue: NetEvent[] = [];
  #waiting: ((r: IteratorResult<NetEvent>) => void) | null = null;
  #failWaiting: ((e: unknown) => void) | null = null;
  #error: unknown = null;
  #done = false;
  /** The links whose events are passed on (followLinks); null: every link. */
  #links: Set<number> | null = null;
  readonly #onAbort = () => void this.close();
  readonly #onClose: (() => void) | undefined;

  /** `onClose` runs once, when the watcher closes (its handle stops tracking it). */
  constructor(nsfd: number, kinds: WatchKind[], opts: WatchOptions, onClose?: () => void) {
    this.#onClose = onClose;
    if (!Array.isArray(kinds) || kinds.length === 0) throw invalidArgument('kinds', kinds, `must be a non-empty array of ${KINDS.join(', ')}`);
    for (const k of kinds) if (!KINDS.includes(k)) throw invalidArgument('kinds', k, `is not one of ${KINDS.join(', ')}`);
    opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.ready = transport()
      .subscribe(nsfd, kinds, (events) => this.#push(events))
      .then(
        (sub) => {
          if (this.#done) sub.close();
          else {
            this.#sub = sub;
            if (this.#links) sub.followLinks?.([...this.#links], []);
          }
        },
        (err) => {
          this.#error = err;
          this.#finish();
          throw err;
        },
      );
    // An unobserved failure still reaches the iterator; don't also crash the process.
    this.ready.catch(() => {});
  }

  /**
   * Passes on link events only for these links (add), or no longer for
   * those (remove): the others are dropped by the addon before they are
   * decoded, so a watcher that follows a few ports among many busy links
   * is not woken for each of theirs. The first call starts the filtering
   * (with nothing followed but what it adds); followAllLinks() ends it.
   * Events of other kinds are not filtered.
   */
  followLinks(add: Iterable<number>, remove: Iterable<number> = []): void {
    const links = (this.#links ??= new Set());
    const added = [...add];
    const removed = [...remove];
    for (const i of added) links.add(i);
    for (const i of removed) links.delete(i);
    this.#sub?.followLinks?.(added, removed);
  }

  /** Every link's events again (the default). */
  followAllLinks(): void {
    this.#links = null;
    this.#sub?.followLinks?.([], [], true);
  }

  #push(events: NativeEvent[]): void {
    for (const raw of events) {
      const ev = toEvent(raw);
      if (!ev) continue;
      // Also here: a transport without the filter (a test's) passes everything on.
      if (ev.kind === 'link' && this.#links && !this.#links.has(ev.link.index)) continue;
      if (this.#waiting) {
        const w = this.#waiting;
        this.#waiting = this.#failWaiting = null;
        w({ value: ev, done: false });
      } else this.#queue.push(ev);
    }
  }

  #finish(): void {
    if (!this.#done) this.#onClose?.();
    this.#done = true;
    if (this.#waiting) {
      const w = this.#waiting;
      const f = this.#failWaiting!;
      this.#waiting = this.#failWaiting = null;
      if (this.#error) f(this.#error);
      else w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<NetEvent>> {
    const ev = this.#queue.shift();
    if (ev) return Promise.resolve({ value: ev, done: false });
    if (this.#error) return Promise.reject(this.#error);
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiting) return Promise.reject(new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'watch: next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  /**
   * Waits for the first event that matches, up to timeoutMs; throws
   * ERR_PW_TIMEOUT otherwise. Events before it are consumed. Then closes the
   * watcher (matched or not), unless `keepOpen`.
   */
  async waitFor(match: (ev: NetEvent) => boolean, timeoutMs: number, opts: WaitForOptions = {}): Promise<NetEvent> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Withdraw our pending next(): an event arriving later must queue for
        // the next consumer, not resolve a promise nobody awaits any more.
        this.#waiting = this.#failWaiting = null;
        reject(new PipewrightError('ERR_PW_TIMEOUT', `no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      for (;;) {
        const r = await Promise.race([this.next(), timeout]);
        if (r.done) throw new PipewrightError('ERR_PW_TIMEOUT', 'the watcher closed before a matching event');
        if (match(r.value)) return r.value;
      }
    } finally {
      clearTimeout(timer);
      if (!opts.keepOpen) await this.close();
    }
  }

  async return(): Promise<IteratorResult<NetEvent>> {
    await this.close();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<NetEvent> {
    return this;
  }

  async close(): Promise<void> {
    if (this.#sub) this.#sub.close();
    this.#sub = null;
    this.#queue = [];
    this.#finish();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
