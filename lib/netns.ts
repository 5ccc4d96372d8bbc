// Network namespaces as objects. A Netns holds an fd to the namespace (which
// keeps it alive), validated as an nsfs file of type network before use, and
// identified by (dev, inode) like the kernel does.
import { addon, NativeNsInfo, NativeSocket } from './native';
import { invalidArgument, PipewrightError } from './errors';
import * as v from './validate';

export const DEFAULT_RUN_DIR = '/run/netns';

export interface NetnsCreateOptions {
  /** Make it a named namespace, visible to `ip netns` (bind mount at runDir/name). */
  name?: string;
  /** Where named namespaces live; iproute2's is /run/netns. */
  runDir?: string;
}

export interface NetnsDeleteOptions {
  /** Resolve only once the kernel has destroyed the namespace (default false). */
  wait?: boolean;
  /** With wait: how long something else may keep holding it (default 5000 ms). */
  timeoutMs?: number;
  /** With wait: the namespace to observe the destruction from (default: the current one). */
  from?: import('./handle').Handle;
}

/** How to find an existing namespace. A bare string is a name, or a path if it contains '/'. */
export type NetnsRef = string | { name: string; runDir?: string } | { pid: number } | { path: string };

export interface NamedNetns {
  name: string;
  path: string;
  /** False when the name is a stale file, not a mounted namespace. */
  valid: boolean;
  reason?: string;
  id?: string;
}

/** A namespace name as iproute2 accepts it: a single path component. */
export function netnsName(field: string, value: unknown): string {
  const name = v.str(field, value, 255);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw invalidArgument(field, value, "is not a valid namespace name (a single path component, not '.' or '..')");
  return name;
}

/**
 * Netns.create opens a netlink socket inside the new namespace while it is in
 * there anyway (one socket() call); the first Handle.open on that Netns takes
 * it instead of making a second trip into the namespace. Internal: not
 * exported from the package.
 */
const spareSockets = new WeakMap<Netns, NativeSocket>();

export function takeSpareSocket(ns: Netns): NativeSocket | undefined {
  const sock = spareSockets.get(ns);
  spareSockets.delete(ns);
  return sock;
}

export class Netns {
  #fd: number | null;
  /** Device number of nsfs; with `ino` it identifies the namespace. */
  readonly dev: number;
  readonly ino: number;
  /** Set for named namespaces. */
  readonly name?: string;
  readonly path?: string;
  readonly pid?: number;
  readonly #runDir: string;

  private constructor(info: NativeNsInfo, extra: { name?: string; runDir?: string }) {
    this.#fd = info.fd;
    this.dev = info.dev;
    this.ino = info.ino;
    if (extra.name !== undefined) this.name = extra.name;
    if (info.path !== undefined) this.path = info.path;
    if (info.pid !== undefined) this.pid = info.pid;
    this.#runDir = extra.runDir ?? DEFAULT_RUN_DIR;
  }

  /** A new namespace: anonymous (alive while this object is open) or named. */
  static async create(opts: NetnsCreateOptions = {}): Promise<Netns> {
    v.knownKeys('', opts, ['name', 'runDir']);
    const runDir = opts.runDir === undefined ? DEFAULT_RUN_DIR : v.str('runDir', opts.runDir, 4096);
    const name = opts.name === undefined ? null : netnsName('name', opts.name);
    const { socket, ...info } = await addon().netnsCreate(name, runDir);
    const ns = new Netns(info, { ...(name !== null ? { name } : {}), runDir });
    if (socket) spareSockets.set(ns, socket);
    return ns;
  }

  /** Opens an existing namespace and checks that it really is one. */
  static async open(ref: NetnsRef): Promise<Netns> {
    if (typeof ref === 'string') ref = ref.includes('/') ? { path: ref } : { name: ref };
    v.object('netns', ref);
    if ('pid' in ref) {
      const info = await addon().netnsOpenPid(v.uint('pid', ref.pid, 1, 0x3fffffff));
      return new Netns(info, {});
    }
    if ('path' in ref) {
      const info = await addon().netnsOpenPath(v.str('path', ref.path, 4096));
      return new Netns(info, {});
    }
    if ('name' in ref) {
      const runDir = ref.runDir ?? DEFAULT_RUN_DIR;
      const name = netnsName('name', ref.name);
      const info = await addon().netnsOpenPath(`${runDir}/${name}`);
      return new Netns({ ...info, path: `${runDir}/${name}` }, { name, runDir });
    }
    throw invalidArgument('netns', ref, 'must be a name, a path, {name}, {pid} or {path}');
  }

  /** The namespace this process runs in. */
  static async current(): Promise<Netns> {
    return new Netns(await addon().netnsOpenSelf(), {});
  }

  /** Every entry of the named-namespace directory, with stale ones marked. */
  static async list(opts: { runDir?: string } = {}): Promise<NamedNetns[]> {
    const list = await addon().netnsList(opts.runDir ?? DEFAULT_RUN_DIR);
    return list.map((e) => ({
      name: e.name,
      path: e.path,
      valid: e.valid,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.dev !== undefined ? { id: `${e.dev}:${e.ino}` } : {}),
    }));
  }

  /**
   * Removes a namespace name: lazy unmount and unlink (which also detaches
   * copies of the mount in other mount namespaces). The namespace itself goes
   * when its last holder (process, fd, other mount) does.
   */
  static async remove(name: string, opts: { runDir?: string } = {}): Promise<void> {
    await addon().netnsDelete(netnsName('name', name), opts.runDir ?? DEFAULT_RUN_DIR);
  }

  /** The fd to pass to the kernel (IFLA_NET_NS_FD, setns). */
  get fd(): number {
    if (this.#fd === null) throw new PipewrightError('ERR_PW_CLOSED', `namespace ${this.describe()} is closed`);
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  /** "dev:ino": equal ids mean the same namespace. */
  get id(): string {
    return `${this.dev}:${this.ino}`;
  }

  equals(other: Netns): boolean {
    return this.dev === other.dev && this.ino === other.ino;
  }

  describe(): string {
    if (this.name) return `'${this.name}'`;
    if (this.pid) return `of pid ${this.pid}`;
    if (this.path) return this.path;
    return `net:[${this.ino}]`;
  }

  /** Closes our fd. An anonymous namespace disappears with its last holder. */
  async close(): Promise<void> {
    const fd = this.#fd;
    if (fd === null) return;
    this.#fd = null;
    // The spare socket holds the namespace too: an anonymous one must go
    // when its Netns is closed.
    takeSpareSocket(this)?.close();
    await addon().fdClose(fd);
  }

  /**
   * For a named namespace: removes the name, then closes. This lets go of
   * the namespace; the kernel destroys it afterwards, asynchronously, when
   * nothing else holds it (its links, and the other ends of its veths,
   * linger for a moment). With `wait`, resolves only once it is destroyed,
   * as seen from `from` (a handle; default the current namespace): the id
   * given to it there dropped and every link there whose other end was in
   * it gone. If something else still holds it after `timeoutMs` (default
   * 5000), throws ERR_PW_NETNS_BUSY; the name and our fd are gone either way.
   */
  async delete(opts: NetnsDeleteOptions = {}): Promise<void> {
    v.knownKeys('', v.object('options', opts), ['wait', 'timeoutMs', 'from']);
    const wait = opts.wait === undefined ? false : v.bool('wait', opts.wait);
    const timeoutMs = opts.timeoutMs === undefined ? 5000 : v.uint('timeoutMs', opts.timeoutMs, 0, 3_600_000);
    const gone = wait && !this.closed ? await (await import('./netns-gone')).watchGone(this, opts.from) : null;
    try {
      if (this.name !== undefined) await Netns.remove(this.name, { runDir: this.#runDir });
      await this.close();
    } catch (e) {
      await gone?.close();
      throw e;
    }
    await gone?.wait(timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
