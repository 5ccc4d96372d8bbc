// A Handle talks to one network namespace through one netlink socket that was
// created inside it. Calls never switch namespace; the socket is reused for
// every request; each call is a hop to the addon's netlink thread and back
// (native/executor.h). A link's deletion runs on threads of its own there
// (it waits for the kernel's teardown); one handle's requests still run in
// the order they were asked (send()).
import { transport, NativeFirewallState, NativeSocket } from './native';
import type { OpArgs, OpCall, OpName, OpResult, OpResults } from './op-types';
import { PipewrightError } from './errors';
import { Netns, NetnsRef, takeSpareSocket } from './netns';
import { LinkApi } from './api/link';
import { AddrApi } from './api/addr';
import { RouteApi } from './api/route';
import { NeighApi, FdbApi } from './api/neigh';
import { RuleApi } from './api/rule';
import { Watcher, WatchOptions } from './api/watch';
import type { WatchKind } from './types';

/** What decides whether bridged frames meet iptables FORWARD in a namespace. */
export type FirewallState = NativeFirewallState;

const ignore = () => undefined;

export class Handle {
  /** The namespace this handle works in; null for the process's own. */
  readonly netns: Netns | null;
  readonly link: LinkApi;
  readonly addr: AddrApi;
  readonly route: RouteApi;
  readonly neigh: NeighApi;
  readonly fdb: FdbApi;
  readonly rule: RuleApi;
  #sock: NativeSocket | null;
  readonly #ownsNetns: boolean;
  /** Watchers opened through this handle and not closed yet: close() closes them. */
  readonly #watchers = new Set<Watcher>();
  /** The batch sent last (what a deletion waits for), and a deletion still at work (what every later batch waits for). */
  #last: Promise<unknown> | null = null;
  #deleting: Promise<unknown> | null = null;

  private constructor(sock: NativeSocket, netns: Netns | null, ownsNetns: boolean) {
    this.#sock = sock;
    this.netns = netns;
    this.#ownsNetns = ownsNetns;
    this.link = new LinkApi(this);
    this.addr = new AddrApi(this);
    this.route = new RouteApi(this);
    this.neigh = new NeighApi(this);
    this.fdb = new FdbApi(this);
    this.rule = new RuleApi(this);
  }

  /**
   * Opens a handle in a namespace: a Netns (borrowed: closing the handle
   * leaves it open), a reference to open one (owned: closed with the handle),
   * or nothing for the process's own namespace.
   */
  static async open(target?: Netns | NetnsRef): Promise<Handle> {
    if (target === undefined) return new Handle(await transport().openSocket(-1), null, false);
    if (target instanceof Netns) {
      const fd = target.fd; // throws if the Netns is closed
      return new Handle(takeSpareSocket(target) ?? (await transport().openSocket(fd)), target, false);
    }
    const ns = await Netns.open(target);
    try {
      return new Handle(await transport().openSocket(ns.fd), ns, true);
    } catch (e) {
      await ns.close();
      throw e;
    }
  }

  /**
   * Runs fn with a short-lived handle in another namespace, closed after.
   * For the api objects, which hold a Handle but do not import the class
   * (that would be an import cycle).
   */
  async elsewhere<T>(target: Netns | NetnsRef, fn: (h: Handle) => Promise<T>): Promise<T> {
    const h = await Handle.open(target);
    try {
      return await fn(h);
    } finally {
      await h.close();
    }
  }

  get closed(): boolean {
    return this.#sock === null;
  }

  /**
   * Runs one operation of lib/core/op-table.json: its name and arguments are
   * checked by the compiler here, and by the addon (an unknown key is
   * refused, naming it). Internal to the API objects.
   */
  async run<K extends OpName>(op: K, args: OpArgs[K]): Promise<OpResult[K]> {
    const results = await this.send([{ op, args } as OpCall]);
    return results[0] as OpResult[K];
  }

  /**
   * Runs operations in order in one hop. On failure the NetlinkError says
   * which completed (`completed`) and which failed (`failedIndex`), so the
   * caller can undo exactly what exists.
   */
  async runBatch<const T extends readonly OpCall[]>(ops: T): Promise<OpResults<T>> {
    return (await this.send(ops)) as OpResults<T>;
  }

  /**
   * One batch to the addon, in this handle's order. Batches on the routing
   * thread run in the order sent; a batch that deletes a link runs on
   * another thread (native/executor.h), so it is sent once the batches
   * before it are done, and the batches after it once it is.
   */
  private send(ops: readonly OpCall[]): Promise<unknown[]> {
    const sock = this.socket();
    const go = () => sock.run(ops);
    const deletes = ops.some((o) => o.op === 'link.del' || o.op === 'link.delGroup');
    // A deletion waits for the batch sent last (which ran after every one before it); others for a deletion at work.
    const before = deletes ? this.#last : this.#deleting;
    const p = before ? before.then(go, go) : go();
    this.#last = p;
    if (deletes) {
      this.#deleting = p;
      const done = () => {
        if (this.#deleting === p) this.#deleting = null;
        if (this.#last === p) this.#last = null;
      };
      p.then(done, done);
    }
    return p;
  }

  /**
   * The bridge firewall's state in this namespace (the br_netfilter sysctl,
   * iptables-legacy's tables, nf_tables' forward chains), read by the addon
   * without starting a process.
   */
  async firewallState(): Promise<FirewallState> {
    this.socket(); // a closed handle reads nothing
    return transport().firewallProbe(this.netns ? this.netns.fd : -1);
  }

  /**
   * Subscribes to events in this namespace. Iterate it; close it (or break)
   * when done. waitFor() closes it unless told to keep it open; closing the
   * handle closes it too.
   */
  watch(kinds: WatchKind[], opts: WatchOptions = {}): Watcher {
    const nsfd = this.netns ? this.netns.fd : -1;
    this.socket(); // a closed handle opens no watcher
    const w: Watcher = new Watcher(nsfd, kinds, opts, () => this.#watchers.delete(w));
    this.#watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    const sock = this.#sock;
    if (!sock) return;
    this.#sock = null;
    for (const w of [...this.#watchers]) await w.close();
    // Calls asked before close that wait behind a deletion (send()) are
    // sent once it is done: the socket stays open for them.
    const queued = this.#deleting ? this.#last : null;
    if (queued) await queued.then(ignore, ignore);
    sock.close();
    if (this.#ownsNetns && this.netns) await this.netns.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  describe(): string {
    return this.netns ? `namespace ${this.netns.describe()}` : 'the current namespace';
  }

  private socket(): NativeSocket {
    if (!this.#sock) throw new PipewrightError('ERR_PW_CLOSED', `the handle for ${this.describe()} is closed`);
    return this.#sock;
  }
}
