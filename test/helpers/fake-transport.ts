// A fake netlink transport for unit tests: lib/core/native.ts's Transport
// answered by a model of the kernel (fake-kernel.ts) instead of the addon.
// Namespaces are fake fds; the state directory's files and locks live in
// memory. Faults are injected here, at the boundary: `failWhen` makes the
// operations it matches fail as the kernel would, so plans meet real-looking
// refusals. Test code only: lib/ never imports it.
import { setTransport, type NativeNsInfo, type NativeSocket, type Transport } from '../../lib/core/native';
import type { OpCall } from '../../lib/core/op-types';
import { FakeNamespace, kernelError, runOp } from './fake-kernel';

const NSFS_DEV = 4;

/** Decides whether an operation fails: the error to throw, or undefined to let it run. */
export type FaultRule = (call: OpCall, ns: FakeNamespace) => Error | undefined;

export class FakeTransport implements Transport {
  readonly root: FakeNamespace;
  readonly named = new Map<string, FakeNamespace>();
  /** Every operation run, in order, with the namespace it ran in. */
  readonly log: Array<{ op: string; ns: FakeNamespace }> = [];
  /** Every socket run (one hop to the addon's thread): the operations it carried. */
  readonly hops: string[][] = [];
  readonly files = new Map<string, { data: string; mtimeMs: number }>();
  readonly #fds = new Map<number, FakeNamespace | 'lock'>();
  #nextFd = 1000;
  #nextIno = 4026532000;
  #faults: FaultRule[] = [];

  constructor() {
    this.root = this.#newNs();
  }

  /** Makes every operation `rule` matches fail (until clearFaults). */
  failWhen(rule: FaultRule): void {
    this.#faults.push(rule);
  }

  /** Fails the `nth` (1-based) run of `op` with the kernel's `code`. */
  failNth(op: string, nth: number, code: string): void {
    let seen = 0;
    this.failWhen((call) => (call.op === op && ++seen === nth ? kernelError(code, op, 'injected by the fake transport') : undefined));
  }

  clearFaults(): void {
    this.#faults = [];
  }

  /** Installs this transport in the addon's place; returns the function that takes it out. */
  install(): () => void {
    setTransport(this);
    return () => setTransport(undefined);
  }

  /** Open fds (namespaces and locks): a test checks that none leak. */
  get openFds(): number {
    return this.#fds.size;
  }

  #newNs(): FakeNamespace {
    const ino = this.#nextIno++;
    return new FakeNamespace(ino, `cookie-${ino}`);
  }

  #open(ns: FakeNamespace, extra: Partial<NativeNsInfo> = {}): NativeNsInfo {
    const fd = this.#nextFd++;
    this.#fds.set(fd, ns);
    return { fd, dev: NSFS_DEV, ino: ns.ino, ...extra };
  }

  nsOf(fd: number): FakeNamespace {
    if (fd === -1) return this.root;
    const ns = this.#fds.get(fd);
    if (!ns || ns === 'lock') throw kernelError('EBADF', 'netns', `fd ${fd} is not an open namespace`);
    return ns;
  }

  #socket(ns: FakeNamespace): NativeSocket {
    let open = true;
    return {
      run: async (ops: readonly OpCall[]) => {
        if (!open) throw kernelError('EBADF', 'socket', 'closed');
        this.hops.push(ops.map((o) => o.op));
        // Off the caller's stack, as the addon answers on a later tick.
        await Promise.resolve();
        const results: unknown[] = [];
        for (const [i, call] of ops.entries()) {
          try {
            this.log.push({ op: call.op, ns });
            for (const rule of this.#faults) {
              const e = rule(call, ns);
              if (e) throw e;
            }
            results.push(runOp(ns, call, (fd) => this.nsOf(fd)));
          } catch (e) {
            if (ops.length > 1 && e && typeof e === 'object') Object.assign(e, { completed: results, failedIndex: i });
            throw e;
          }
        }
        return results;
      },
      close: () => {
        open = false;
      },
    };
  }

  async openSocket(nsfd: number) {
    return this.#socket(this.nsOf(nsfd));
  }

  async subscribe() {
    return { close() {} };
  }

  async netnsCreate(name: string | null, runDir: string) {
    const ns = this.#newNs();
    if (name !== null) {
      if (this.named.has(name)) throw kernelError('ERR_PW_NETNS_EXISTS', 'netns.create');
      this.named.set(name, ns);
    }
    return this.#open(ns, name !== null ? { path: `${runDir}/${name}` } : {});
  }

  async netnsOpenPath(path: string) {
    const name = path.split('/').pop()!;
    return this.netnsOpenNamed(name, path.slice(0, -name.length - 1));
  }

  async netnsOpenPid(): Promise<NativeNsInfo> {
    throw new Error('the fake transport does not model processes');
  }

  async netnsOpenSelf() {
    return this.#open(this.root);
  }

  async netnsDelete(name: string, runDir: string) {
    const ns = this.named.get(name);
    if (!ns) throw kernelError('ERR_PW_NETNS_NOT_FOUND', 'netns.delete');
    this.named.delete(name);
    return { path: `${runDir}/${name}`, stale: false, wasMounted: true, dev: NSFS_DEV, ino: ns.ino };
  }

  async netnsList(runDir: string) {
    return [...this.named.entries()].map(([name, ns]) => ({ name, path: `${runDir}/${name}`, valid: true, dev: NSFS_DEV, ino: ns.ino }));
  }

  async netnsOpenNamed(name: string, runDir: string) {
    const ns = this.named.get(name);
    if (!ns) throw kernelError('ERR_PW_NETNS_NOT_FOUND', 'netns.open', `${runDir}/${name} does not exist`);
    return this.#open(ns, { path: `${runDir}/${name}` });
  }

  async netnsAlive() {
    return { alive: true };
  }

  async fdClose(fd: number) {
    if (!this.#fds.delete(fd)) throw kernelError('EBADF', 'fd.close');
  }

  async sendGratuitousArp(nsfd: number, ifindex: number) {
    if (!this.nsOf(nsfd).links.has(ifindex)) throw kernelError('ENODEV', 'arp.send');
    return { sent: 1 };
  }

  async firewallProbe() {
    return { bridgeNfCallIptables: null, legacyTables: [], nftables: false, forwardChains: [] };
  }

  #answerWaitUs = 200;

  stats() {
    return { dumpRetries: 0, answerWaits: 0, answersWhileWaiting: 0, answerWaitUs: this.#answerWaitUs, polls: 0, settledByPoll: 0, pollUs: 0, polling: false, namespaceJobsOnRoutingThread: 0, namespaceJobsOnNamespaceThreads: 0 };
  }

  setAnswerWait(us: number) {
    this.#answerWaitUs = us;
  }

  // The fake kernel has no file system: the shared stores (lib/core/locked-dir.ts) are live-tested only.
  async lockedDirOpen(): Promise<never> {
    throw kernelError('ENOSYS', 'lockedDir.open');
  }

  async lockedDirApply(): Promise<never> {
    throw kernelError('ENOSYS', 'lockedDir.apply');
  }

  engineBind(): never {
    throw kernelError('ENOTSUP', 'engine.bind');
  }

  engineListen(): never {
    throw kernelError('ENOTSUP', 'engine.listen');
  }

  async lockAcquire() {
    const fd = this.#nextFd++;
    this.#fds.set(fd, 'lock');
    return { fd };
  }

  async lockAndWrite(root: string, _lockSub: string, _lockName: string, fileSub: string, fileName: string, data: string) {
    const { fd } = await this.lockAcquire();
    await this.stateFileWrite(root, fileSub, fileName, data);
    return { fd };
  }

  async lockAndRead(root: string, _lockSub: string, _lockName: string, fileSub: string, name: string) {
    const { fd } = await this.lockAcquire();
    return { fd, file: await this.stateFileRead(root, fileSub, name) };
  }

  async stateFileWrite(root: string, sub: string, name: string, data: string) {
    this.files.set(`${root}/${sub}/${name}`, { data, mtimeMs: Date.now() });
  }

  async stateFileRemove(root: string, sub: string, name: string) {
    return { removed: this.files.delete(`${root}/${sub}/${name}`) };
  }

  async stateFileRead(root: string, sub: string, name: string) {
    const f = this.files.get(`${root}/${sub}/${name}`);
    return f ? { name, ...f } : null;
  }

  async stateFileList(root: string, sub: string, prefix: string) {
    const dir = `${root}/${sub}/`;
    return [...this.files.entries()]
      .filter(([p]) => p.startsWith(dir) && p.slice(dir.length).startsWith(prefix))
      .map(([p, f]) => ({ name: p.slice(dir.length), ...f }));
  }
}
