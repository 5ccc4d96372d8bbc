// The engine's standing repair: every attachment the journal records as
// complete, bridge mode, in the engine's own namespace, is followed for as
// long as the engine runs (attach --watch only covers a window). Link events
// say when to look, the link as read back says what is wrong:
//  - a host end released from its bridge or set down is put back;
//  - a renamed host end is renamed back when its name is free, else reported;
//  - a host end gone with its guest namespace (the kernel deletes a veth with
//    its namespace) has its journal entry removed;
//  - a host end gone while its guest lives (a detach at work, or deleted by
//    hand) is no longer followed; the entry is left to detach, doctor and gc,
//    and reported only when no detach forgot it (deleted by hand).
// Only links carrying our mark (alias or group) are touched, and an entry is
// removed only while it is exactly as it was read (a new attach of the same
// interface writes a new one). The journal directory is watched (inotify),
// so attaches made by any pipewright process are followed once complete,
// and only the file that changed is read again.
import { Handle } from '../../core/handle';
import { isNetlinkError } from '../../core/errors';
import { watchStateDir, type StateDirWatch } from '../../core/state-files';
import type { Watcher } from '../../core/api/watch';
import type { Link } from '../../core/types';
import { FIGHT_REPAIRS, FIGHT_WINDOW_MS, HOLD_MAX_MS, KEEP_INCIDENTS, LOOK_AT_ONCE, carriesOurMark, isFight, portProblems, portsToLookAt, type Incident, type TrackedPort } from './port-rules';
import { GoneWhileLive } from './gone-while-live';
import { JOURNAL_DIR, guestReachable, netnsCookie, ownNetnsId, readEntries, removeEntry, rereadEntry, sameHost, type StoredEntry } from '../ownership';

interface Tracked extends TrackedPort {
  stored: StoredEntry;
  /** When it was last put back (ms timestamps, the last few): a port undone over and over is left alone. */
  repairedAt: number[];
  /** Set once the engine stopped fighting over this port. */
  givenUp?: boolean;
}

export class Reconciler {
  readonly #host: Handle;
  readonly #log: (line: string) => void;
  readonly #tracked = new Map<number, Tracked>();
  readonly #incidents: Incident[] = [];
  readonly #checking = new Map<number, Promise<void>>();
  readonly #again = new Set<number>();
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;
  readonly #fileReads = new Map<string, Promise<void>>();
  /** Looks at many ports at work (#lookAtMany). */
  readonly #looks = new Set<Promise<void>>();
  #journalWatch: StateDirWatch | null = null;
  /** Commands at work in this process (hold()); while any is, journal changes wait in #heldFiles. */
  #holds = 0;
  readonly #heldFiles = new Set<string>();
  #heldAll = false;
  #holdTimer: NodeJS.Timeout | null = null;
  /** Host ends deleted while their guests live: a detach's, or a hand's (reported). */
  readonly #goneLive = new GoneWhileLive<Tracked>((t) => void this.#goneByHand(t));
  #closed = false;
  #loop: Promise<void> | null = null;
  #repairs = 0;
  /** The host's link events, passed on only for the ports followed (Watcher.followLinks). */
  #watch: Watcher | null = null;

  private constructor(host: Handle, log: (line: string) => void) {
    this.#host = host;
    this.#log = log;
  }

  /** Starts following: reads the journal, checks every port once (what happened while no engine ran), then follows events. */
  static async start(log: (line: string) => void): Promise<Reconciler> {
    const r = new Reconciler(await Handle.open(), log);
    try {
      const w = r.#host.watch(['link']);
      // Only the followed ports' events wake the engine (a new attach's own events, a busy host's other links, are dropped by the addon).
      w.followLinks([]);
      r.#watch = w;
      await w.ready;
      r.#loop = r.#follow(w);
      r.#journalWatch = watchStateDir(JOURNAL_DIR, (file) => r.#journalChanged(file));
      await r.refresh();
    } catch (e) {
      await r.close();
      throw e;
    }
    return r;
  }

  #track(t: Tracked): void {
    if (!this.#tracked.has(t.index)) this.#watch?.followLinks([t.index]);
    this.#tracked.set(t.index, t);
  }

  #untrack(index: number): void {
    if (this.#tracked.delete(index)) this.#watch?.followLinks([], [index]);
  }

  tracked(): TrackedPort[] {
    return [...this.#tracked.values()].map(({ stored: _s, repairedAt: _r, ...t }) => t);
  }

  incidents(): Incident[] {
    return [...this.#incidents];
  }

  get repairs(): number {
    return this.#repairs;
  }

  async #follow(w: AsyncIterable<import('../../core/types').NetEvent>): Promise<void> {
    try {
      for await (const ev of w) {
        if (this.#closed) break;
        if (ev.kind === 'overrun') {
          // Events were lost: read the journal and look at every port again.
          void this.refresh().then(() => this.#lookInBackground([...this.#tracked.keys()]));
        } else if (ev.kind === 'link') {
          if (this.#tracked.has(ev.link.index)) this.#check(ev.link.index);
        }
      }
    } catch (e) {
      if (!this.#closed) this.#log(`link events stopped: ${(e as Error).message}`);
    }
  }

  /**
   * One journal file changed: only it is read again (an attach completing,
   * a detach forgetting), so following N attachments costs O(1) per change,
   * not a read of the whole journal. Temporary files are skipped; a change
   * without a name reads everything.
   */
  #journalChanged(file: string | null): void {
    if (this.#closed) return;
    if (this.#holds > 0) return this.#defer(file);
    if (file === null) return void this.refresh();
    if (file.startsWith('.') || !file.endsWith('.json')) return;
    const run = (this.#fileReads.get(file) ?? Promise.resolve()).then(() => this.#rereadOne(file)).catch((e: unknown) => this.#log(`cannot read the journal entry ${file}: ${(e as Error).message}`));
    this.#fileReads.set(file, run);
    void run.then(() => {
      if (this.#fileReads.get(file) === run) this.#fileReads.delete(file);
    });
  }

  /**
   * Holds back the reading of journal changes while a command line runs in
   * this process (the engine calls it around each one; the function
   * returned lets go). An attach writes its entry twice (in progress, then
   * complete) and each write would cost a read of the entry, on the event
   * loop and the addon's threads the command itself is waiting for: held,
   * they are read once, after the command answered its caller. Link events
   * of the ports already followed are never held (their repairs stay
   * immediate), and nothing waits longer than HOLD_MAX_MS: a long command
   * (a watch, a DHCP lease) does not keep other processes' attaches from
   * being followed.
   */
  hold(): () => void {
    this.#holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      // On the loop's next turn: the command's answer goes out first.
      if (--this.#holds === 0 && (this.#heldFiles.size > 0 || this.#heldAll)) setImmediate(() => this.#holds === 0 && this.#flushHeld());
    };
  }

  #defer(file: string | null): void {
    if (file === null) this.#heldAll = true;
    else this.#heldFiles.add(file);
    this.#holdTimer ??= setTimeout(() => this.#flushHeld(), HOLD_MAX_MS);
  }

  #flushHeld(): void {
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
    const files = [...this.#heldFiles];
    const all = this.#heldAll;
    this.#heldFiles.clear();
    this.#heldAll = false;
    if (this.#closed) return;
    if (all) return void this.refresh();
    const holds = this.#holds;
    // Past the deadline, the changes are read even though a command still runs.
    this.#holds = 0;
    try {
      for (const f of files) this.#journalChanged(f);
    } finally {
      this.#holds = holds;
    }
  }

  async #rereadOne(file: string): Promise<void> {
    // Changed since its host end went: forgotten by a detach, or rewritten by a new attach. Nothing to tell.
    this.#goneLive.forget(file);
    const stored = await rereadEntry(file);
    const was = [...this.#tracked.values()].find((x) => x.file === file);
    if (!stored) {
      if (was) this.#untrack(was.index);
      return;
    }
    if (!(await this.#take(stored)) && was) this.#untrack(was.index);
  }

  /**
   * Follows the entry if it is a complete bridge attachment of this host;
   * true when it is. A port newly followed is looked at now, or, when
   * `fresh` is given (a read of the whole journal), added to it for one look
   * at them all.
   */
  async #take(stored: StoredEntry, fresh?: number[]): Promise<boolean> {
    const e = stored.entry;
    if (e.state !== 'complete' || e.mode !== 'bridge' || e.hostEndIndex === undefined || e.hostEnd === undefined) return false;
    const [hostId, hostCookie] = await Promise.all([ownNetnsId(), netnsCookie(this.#host).catch(() => undefined)]);
    if (e.hostNetns !== hostId || !sameHost(e, hostCookie)) return false;
    const bridge = e.bridgeIndex ?? e.hostIfIndex;
    if (bridge === undefined) return false;
    const old = this.#tracked.get(e.hostEndIndex);
    if (old && old.stored.raw === stored.raw) return true;
    this.#track({ index: e.hostEndIndex, name: e.hostEnd, bridge, guestIf: e.guestIf, guestNetns: e.guestNetns, file: stored.file, stored, repairedAt: [] });
    if (!old) fresh ? fresh.push(e.hostEndIndex) : this.#check(e.hostEndIndex);
    return true;
  }

  /** Re-reads the journal (coalesced: one read at a time, one more if asked meanwhile). */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false;
        try {
          await this.#readJournal();
        } catch (e) {
          this.#log(`cannot read the journal: ${(e as Error).message}`);
        }
      } while (this.#refreshAgain && !this.#closed);
      this.#refreshing = null;
    })();
    return this.#refreshing;
  }

  async #readJournal(): Promise<void> {
    const seen = new Set<number>();
    const fresh: number[] = [];
    for (const stored of await readEntries()) if (await this.#take(stored, fresh)) seen.add(stored.entry.hostEndIndex!);
    for (const i of [...this.#tracked.keys()]) if (!seen.has(i)) this.#untrack(i);
    this.#lookInBackground(fresh);
  }

  /** Not waited for by a refresh: an engine starting over a thousand stale entries is ready at once, and cleans them meanwhile. */
  #lookInBackground(indexes: number[]): void {
    const look = this.#lookAtMany(indexes);
    this.#looks.add(look);
    void look.finally(() => this.#looks.delete(look));
  }

  /**
   * Looks at many ports with one read of the host's links: only those it
   * shows changed, not ours, or gone get a look of their own, LOOK_AT_ONCE at
   * a time (those to put back before those gone), so the repairs events ask
   * for meanwhile are not queued behind them all.
   */
  async #lookAtMany(indexes: number[]): Promise<void> {
    if (indexes.length === 0 || this.#closed) return;
    const followed = indexes.flatMap((i) => {
      const t = this.#tracked.get(i);
      return t ? [{ index: i, name: t.name, bridge: t.bridge, alias: t.stored.entry.alias }] : [];
    });
    let sorted: { repairs: number[]; gone: number[] };
    try {
      sorted = portsToLookAt(followed, new Map((await this.#host.link.list()).map((l): [number, Link] => [l.index, l])));
    } catch (e) {
      // Without the list, every port gets a look of its own (at the same pace).
      if (!this.#closed) this.#log(`cannot list the host's links (${(e as Error).message}): looking at each port`);
      sorted = { repairs: followed.map((p) => p.index), gone: [] };
    }
    // Ports to put back first, then entries to clean: a live guest's network before housekeeping.
    for (const due of [sorted.repairs, sorted.gone]) {
      const worker = async (): Promise<void> => {
        for (let i = due.shift(); i !== undefined && !this.#closed; i = due.shift()) {
          this.#check(i);
          await this.#checking.get(i);
        }
      };
      await Promise.all(Array.from({ length: LOOK_AT_ONCE }, worker));
    }
  }

  /** Looks at one port (coalesced per port: one look at a time, one more if an event came meanwhile). */
  #check(index: number): void {
    if (this.#checking.has(index)) {
      this.#again.add(index);
      return;
    }
    const p = (async () => {
      do {
        this.#again.delete(index);
        try {
          await this.#checkOnce(index);
        } catch (e) {
          this.#log(`checking link ${index}: ${(e as Error).message}`);
        }
      } while (this.#again.has(index) && !this.#closed);
      this.#checking.delete(index);
    })();
    this.#checking.set(index, p);
  }

  #record(i: Omit<Incident, 'at'>): void {
    const inc = { at: new Date().toISOString(), ...i };
    this.#incidents.push(inc);
    if (this.#incidents.length > KEEP_INCIDENTS) this.#incidents.shift();
    this.#log(`${i.hostEnd} (link ${i.index}): ${i.what}: ${i.action}${i.detail ? ` (${i.detail})` : ''}`);
  }

  async #checkOnce(index: number): Promise<void> {
    const t = this.#tracked.get(index);
    if (!t || this.#closed) return;
    const link = await this.#host.link.find(index);
    if (!link) return this.#gone(t);
    const e = t.stored.entry;
    // The index now names a link that is not this attachment's (never touched).
    if (!carriesOurMark(link, e.alias)) {
      this.#untrack(index);
      return this.#record({ hostEnd: t.name, index, what: `link ${index} is now ${link.name}, which carries no mark of ours`, action: 'reported', detail: 'no longer followed' });
    }
    const what = portProblems(link, t.bridge, t.name);
    if (!what || t.givenUp) return;
    if (isFight(t.repairedAt, Date.now())) {
      t.givenUp = true;
      return this.#record({ hostEnd: t.name, index, what, action: 'reported', detail: `undone ${FIGHT_REPAIRS} times within ${FIGHT_WINDOW_MS / 1000} s: something keeps undoing it; no longer repaired (pipewright doctor shows it)` });
    }
    // Act only on the record as it still is: a detach or a new attach may have changed it.
    const now = await rereadEntry(t.file);
    if (!now || now.raw !== t.stored.raw) return void this.refresh();
    const renamed = link.name !== t.name;
    const nameFree = !renamed || (await this.#host.link.find(t.name)) === null;
    try {
      await this.#putBack(index, t, renamed && nameFree, link.up);
      this.#repairs++;
      t.repairedAt = [...t.repairedAt.slice(-(FIGHT_REPAIRS - 1)), Date.now()];
      if (renamed && !nameFree) this.#record({ hostEnd: t.name, index, what, action: 'reported', detail: `its name ${t.name} is taken by another link; left as ${link.name}` });
      else this.#record({ hostEnd: t.name, index, what, action: renamed ? 'renamed-back' : 'repaired' });
    } catch (err) {
      this.#record({ hostEnd: t.name, index, what, action: 'repair-failed', detail: (err as Error).message });
    }
  }

  /** Enslaved and up again, under its own name when `rename` (a live rename may be refused: then down, renamed, up). */
  async #putBack(index: number, t: Tracked, rename: boolean, up: boolean): Promise<void> {
    const bridge = await this.#host.link.find(t.bridge);
    if (!bridge) throw new Error(`its bridge (link ${t.bridge}) is gone`);
    if (!rename) return this.#host.link.set(index, { master: t.bridge, up: true });
    try {
      await this.#host.link.set(index, { name: t.name, master: t.bridge, up: true });
    } catch (e) {
      if (!up || !isNetlinkError(e, 'EBUSY')) throw e;
      await this.#host.link.set(index, { up: false });
      await this.#host.link.set(index, { name: t.name, master: t.bridge, up: true });
    }
  }

  /** The host end is gone: with its guest namespace (cleaned), or by someone's hand (reported). */
  async #gone(t: Tracked): Promise<void> {
    this.#untrack(t.index);
    const e = t.stored.entry;
    if (await guestReachable(e.guest, e.guestNetns)) {
      // A detach's delete or a hand's: neither is ours to act on, only a hand's is worth telling (GoneWhileLive).
      this.#goneLive.add(t.file, t);
      return;
    }
    const now = await rereadEntry(t.file);
    if (now && now.raw === t.stored.raw) await removeEntry(t.file);
    this.#record({ hostEnd: t.name, index: t.index, what: `its guest namespace (${e.guest.label}) is gone and the host end with it`, action: 'cleaned', detail: 'journal entry removed' });
  }

  /** Reported when its entry is still there as it was: nothing forgot it, so no detach deleted the host end. */
  async #goneByHand(t: Tracked): Promise<void> {
    if (this.#closed) return;
    const now = await rereadEntry(t.file).catch(() => null);
    if (!now || now.raw !== t.stored.raw || this.#closed) return;
    this.#record({ hostEnd: t.name, index: t.index, what: 'deleted while its guest lives, its journal entry left behind (by hand?)', action: 'reported', detail: 'no longer followed; doctor shows the entry, gc removes it' });
  }

  /** Waits until every look started so far is done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#refreshing || this.#checking.size || this.#fileReads.size || this.#looks.size)
      await Promise.all([this.#refreshing, ...this.#checking.values(), ...this.#fileReads.values(), ...this.#looks]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#holdTimer) clearTimeout(this.#holdTimer);
    this.#holdTimer = null;
    this.#goneLive.close();
    this.#journalWatch?.close();
    await this.settled().catch(() => {});
    await this.#host.close();
    await this.#loop;
  }
}
