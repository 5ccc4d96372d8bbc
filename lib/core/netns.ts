// Network namespaces as objects. A Netns holds an fd to the namespace (which
// keeps it alive), validated as an nsfs file of type network before use, and
// identified by (dev, inode) like the kernel does.
import { resolve } from 'node:path';
import { transport, NativeNetnsDeleteOptions, NativeNsInfo, NativeSocket } from './native';
import { invalidArgument, NetlinkError, PipewrightError, PipewrightErrorCode } from './errors';
import * as v from './validate';
import { watchGone } from './netns-gone';

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

export interface NetnsRemoveOptions {
  runDir?: string;
  /**
   * Reach the name in another mount namespace: "/proc/PID/root" of a process
   * in it, runDir then taken beneath that root ("run/netns"). The name is
   * only unlinked there, which detaches its mount in every mount namespace.
   */
  root?: string;
  /** Act only if the name leads to exactly this namespace. */
  expect?: { dev: number; ino: number };
}

export interface NetnsRemoved {
  path: string;
  /** The name was an empty plain file, not a namespace: only the file was removed. */
  stale: boolean;
  /** "dev:ino" of the namespace that was behind the name. */
  id?: string;
  dev?: number;
  ino?: number;
  /** Its nsfs file handle: Netns.exists() asks with it, without holding the namespace. */
  handle?: string;
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
  /** The name is a symbolic link (to this target), which pipewright never follows. */
  symlink?: string;
}

/** A namespace name as iproute2 accepts it: a single path component. */
export function netnsName(field: string, value: unknown): string {
  const name = v.str(field, value, 255);
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw invalidArgument(field, value, "is not a valid namespace name (a single path component, not '.' or '..')");
  return name;
}

/**
 * The addon's own refusals (ERR_PW_* with an explanation) as a
 * PipewrightError about the name; kernel failures stay NetlinkErrors.
 */
function refusalAsError(e: unknown, name: string): unknown {
  if (!(e instanceof NetlinkError) || !e.code.startsWith('ERR_PW_') || !e.detail) return e;
  return new PipewrightError(e.code as PipewrightErrorCode, e.detail, { field: 'name', value: name, cause: e });
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

/** Made by Netns's static block: a Netns from what the addon returned (the constructor is private). */
let fromInfo: (info: NativeNsInfo, extra: { name?: string; runDir?: string }) => Netns;

/**
 * Opens a named namespace, or one by path, that a Handle is about to work
 * in: the addon opens the Handle's netlink socket inside it in the same trip
 * (the first Handle.open on it takes that socket: one trip instead of two).
 * Other references open as Netns.open does. Internal: not exported from the package.
 */
export async function openNetnsForHandle(ref: NetnsRef): Promise<Netns> {
  if (typeof ref === 'string') ref = ref.includes('/') ? { path: ref } : { name: ref };
  if (typeof ref === 'object' && ref !== null && 'path' in ref) {
    const path = v.str('path', ref.path, 4096);
    const { socket, ...info } = await transport().netnsOpenPath(path, true);
    const ns = fromInfo({ ...info, path: resolve(path) }, {});
    if (socket) spareSockets.set(ns, socket);
    return ns;
  }
  const named = typeof ref === 'object' && ref !== null && 'name' in ref ? ref : null;
  if (!named) return Netns.open(ref);
  const runDir = named.runDir === undefined ? DEFAULT_RUN_DIR : v.str('runDir', named.runDir, 4096);
  const name = netnsName('name', named.name);
  const { socket, ...info } = await transport().netnsOpenNamed(name, runDir, true);
  const ns = fromInfo({ ...info, path: `${runDir}/${name}` }, { name, runDir });
  if (socket) spareSockets.set(ns, socket);
  return ns;
}

export class Netns {
  static {
    fromInfo = (info, extra) => new Netns(info, extra);
  }

  #fd: number | null;
  /** Device number of nsfs; with `ino` it identifies the namespace. */
  readonly dev: number;
  readonly ino: number;
  /** Set for named namespaces. */
  readonly name?: string;
  /** The way it was opened: its name's path, or the path given (made absolute). */
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
    const { socket, ...info } = await transport().netnsCreate(name, runDir);
    const ns = new Netns(info, { ...(name !== null ? { name } : {}), runDir });
    if (socket) spareSockets.set(ns, socket);
    return ns;
  }

  /** Opens an existing namespace and checks that it really is one. */
  static async open(ref: NetnsRef): Promise<Netns> {
    if (typeof ref === 'string') ref = ref.includes('/') ? { path: ref } : { name: ref };
    v.object('netns', ref);
    if ('pid' in ref) {
      const info = await transport().netnsOpenPid(v.uint('pid', ref.pid, 1, 0x3fffffff));
      return new Netns(info, {});
    }
    if ('path' in ref) {
      // The path is kept (absolute) as the way to this namespace: a journal
      // entry records it, and whoever follows it later checks it still leads
      // here (dev:ino), as for a name.
      const path = v.str('path', ref.path, 4096);
      const info = await transport().netnsOpenPath(path);
      return new Netns({ ...info, path: resolve(path) }, {});
    }
    if ('name' in ref) {
      const runDir = ref.runDir === undefined ? DEFAULT_RUN_DIR : v.str('runDir', ref.runDir, 4096);
      const name = netnsName('name', ref.name);
      // The name itself is never followed: a symbolic link there is refused
      // (ERR_PW_UNSAFE_PATH), as it could lead anywhere, the host's own
      // namespace included.
      const info = await transport().netnsOpenNamed(name, runDir);
      return new Netns({ ...info, path: `${runDir}/${name}` }, { name, runDir });
    }
    throw invalidArgument('netns', ref, 'must be a name, a path, {name}, {pid} or {path}');
  }

  /** The namespace this process runs in. */
  static async current(): Promise<Netns> {
    return new Netns(await transport().netnsOpenSelf(), {});
  }

  /** Every entry of the named-namespace directory, with stale ones marked. */
  static async list(opts: { runDir?: string } = {}): Promise<NamedNetns[]> {
    const list = await transport().netnsList(opts.runDir ?? DEFAULT_RUN_DIR);
    return list.map((e) => ({
      name: e.name,
      path: e.path,
      valid: e.valid,
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.dev !== undefined ? { id: `${e.dev}:${e.ino}` } : {}),
      ...(e.symlink !== undefined ? { symlink: e.symlink } : {}),
    }));
  }

  /**
   * Removes a namespace name: lazy unmount and unlink (which also detaches
   * copies of the mount in other mount namespaces). The namespace itself goes
   * when its last holder (process, fd, other mount) does. Everything goes
   * through the directory's fd: a name that is a symbolic link, a mount of
   * anything but a network namespace, or not a file is refused
   * (ERR_PW_UNSAFE_PATH, ERR_PW_NOT_A_NETNS) and nothing is changed; an
   * empty plain file (a stale name) is unlinked.
   */
  static async remove(name: string, opts: NetnsRemoveOptions = {}): Promise<NetnsRemoved> {
    v.knownKeys('', opts, ['runDir', 'root', 'expect']);
    const runDir = opts.runDir === undefined ? DEFAULT_RUN_DIR : v.str('runDir', opts.runDir, 4096);
    const native: NativeNetnsDeleteOptions = {};
    if (opts.root !== undefined) native.root = v.str('root', opts.root, 4096);
    if (opts.expect !== undefined) {
      native.dev = v.uint('expect.dev', opts.expect.dev, 0, Number.MAX_SAFE_INTEGER);
      native.ino = v.uint('expect.ino', opts.expect.ino, 0, Number.MAX_SAFE_INTEGER);
    }
    const r = await transport().netnsDelete(netnsName('name', name), runDir, native).catch((e: unknown) => {
      throw refusalAsError(e, name);
    });
    return {
      path: r.path,
      stale: r.stale,
      ...(r.dev !== undefined && r.ino !== undefined ? { id: `${r.dev}:${r.ino}`, dev: r.dev, ino: r.ino } : {}),
      ...(r.handle !== undefined ? { handle: r.handle } : {}),
    };
  }

  /**
   * Whether the namespace named by a handle (from remove()) still exists,
   * whatever holds it, asked without holding it; null when this kernel
   * cannot tell (no nsfs file handles before Linux 6.18).
   */
  static async exists(handle: string): Promise<boolean | null> {
    try {
      return (await transport().netnsAlive(v.str('handle', handle, 300))).alive;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_PW_INVALID_ARGUMENT') throw e;
      return null;
    }
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
    await transport().fdClose(fd);
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
    const gone = wait && !this.closed ? await watchGone(this, opts.from) : null;
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
