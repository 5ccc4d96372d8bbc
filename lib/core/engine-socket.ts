// The engine's socket and its connections, served by the addon from the
// event loop (native/engine_listener.h) rather than by node:net: each call
// of the CLI or the CNI plugin is a new connection, and a net.Socket with its
// streams cost more of the engine's CPU per call than the rest of a short
// command's dispatch (docs/performance.md, change 37). What the server needs
// of a connection is small: the peer as the kernel saw it, its bytes, writes
// that say when they are in the socket, an end, and word when the peer goes.
import { transport, type NativeEngineListener, type NativePeer } from './native';

/** The peer of a connection: SO_PEERCRED, and its namespaces ("dev:ino") when they could be read. */
export type PeerIdentity = Required<Pick<NativePeer, 'pid' | 'uid' | 'gid'>> & Pick<NativePeer, 'net' | 'mnt' | 'time' | 'nsError'>;

export class Connection {
  readonly id: number;
  /** Who connected, or why that is not known. */
  readonly peer: PeerIdentity | { error: string };
  readonly #listener: NativeEngineListener;
  #closed = false;
  #ending = false;
  #peerGone = false;
  #corked: Buffer[] | null = null;
  #onData: ((chunk: Buffer) => void) | null = null;
  readonly #onGone = new Set<() => void>();
  /** Told whether their bytes reached the peer's socket: writes not yet all in it. */
  #whenWritten: ((written: boolean) => void)[] = [];
  readonly #onClosed: () => void;

  constructor(listener: NativeEngineListener, id: number, peer: NativePeer, onClosed: () => void) {
    this.#listener = listener;
    this.id = id;
    this.peer = peer.error !== undefined || peer.pid === undefined ? { error: peer.error ?? 'no credentials' } : (peer as PeerIdentity);
    this.#onClosed = onClosed;
  }

  /** Closed on this side. */
  get destroyed(): boolean {
    return this.#closed;
  }

  /** Whether a write can still reach the peer. */
  get writable(): boolean {
    return !this.#closed && !this.#ending && !this.#peerGone;
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.#onData = fn;
  }

  /** Calls fn once when the peer closes or fails, or this side closes; returns what stops that. */
  onGone(fn: () => void): () => void {
    if (this.#peerGone || this.#closed) {
      queueMicrotask(fn);
      return () => undefined;
    }
    this.#onGone.add(fn);
    return () => this.#onGone.delete(fn);
  }

  /**
   * Writes data (after what is held by cork()). `written`, if given, is told
   * once the bytes are in the peer's socket (true) or never will be (false).
   */
  write(data: Buffer, written?: (ok: boolean) => void): void {
    if (!this.writable) {
      if (written) queueMicrotask(() => written(false));
      return;
    }
    if (written) this.#whenWritten.push(written);
    if (this.#corked) this.#corked.push(data);
    else this.#send(data);
  }

  /** Holds writes until the loop's next turn, then sends them in one write: the client wakes once for them. */
  cork(): void {
    if (this.#corked) return;
    this.#corked = [];
    setImmediate(() => {
      const held = this.#corked;
      this.#corked = null;
      if (held && held.length > 0 && this.writable) this.#send(Buffer.concat(held));
    });
  }

  /** Sends what is held and `last` in one write, then closes once all of it is in the socket. */
  end(last?: Buffer): void {
    if (!this.writable) {
      if (!this.#closed) this.destroy();
      return;
    }
    const held = this.#corked ?? [];
    this.#corked = null;
    if (last) held.push(last);
    if (held.length > 0) this.#send(held.length === 1 ? held[0]! : Buffer.concat(held));
    this.#ending = true;
    if (this.#listener.end(this.id)) this.#finish(true);
  }

  /** Closes now: what waits to be written is dropped. */
  destroy(): void {
    if (this.#closed) return;
    this.#listener.destroy(this.id);
    this.#finish(false);
  }

  /** The listener's events for this connection (EngineSocket). */
  handle(kind: 'data' | 'end' | 'drained' | 'closed', arg: unknown): void {
    if (kind === 'data') this.#onData?.(arg as Buffer);
    else if (kind === 'drained') this.#settleWrites(true);
    else if (kind === 'closed') this.#finish(arg === true);
    else {
      // A client never half-closes while it waits for its answer: its end means it is gone.
      this.#peerGone = true;
      this.#settleWrites(false);
      this.#gone();
    }
  }

  #send(data: Buffer): void {
    const sent = this.#listener.write(this.id, data);
    if (sent === 1) this.#settleWrites(true);
    else if (sent === -1) {
      // The peer is gone: nothing written waits any more (its end is reported too, or was).
      this.#peerGone = true;
      this.#settleWrites(false);
    }
  }

  #settleWrites(written: boolean): void {
    const waiting = this.#whenWritten;
    this.#whenWritten = [];
    for (const w of waiting) w(written);
  }

  #finish(allWritten: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#settleWrites(allWritten);
    this.#gone();
    this.#onClosed();
  }

  #gone(): void {
    const fns = [...this.#onGone];
    this.#onGone.clear();
    for (const fn of fns) fn();
  }
}

/** The engine's listening socket: a path bound here, or a socket handed over (systemd). */
export class EngineSocket {
  readonly #listener: NativeEngineListener;
  readonly #conns = new Map<number, Connection>();

  private constructor(fd: number, onConnection: (c: Connection) => void, onError: (message: string) => void) {
    this.#listener = transport().engineListen(fd, (kind, id, arg) => {
      if (kind === 'connection') {
        const c = new Connection(this.#listener, id, arg as NativePeer, () => this.#conns.delete(id));
        this.#conns.set(id, c);
        onConnection(c);
      } else if (kind === 'error') onError(String(arg));
      else this.#conns.get(id)?.handle(kind, arg);
    });
  }

  /** Listens on path, the file made with no access for anyone (the caller opens it up to its mode). */
  static bind(path: string, onConnection: (c: Connection) => void, onError: (message: string) => void): EngineSocket {
    const umask = process.umask(0o177);
    let fd: number;
    try {
      fd = transport().engineBind(path);
    } finally {
      process.umask(umask);
    }
    try {
      return new EngineSocket(fd, onConnection, onError);
    } catch (e) {
      // Not served: the socket made here is closed before the error is reported (its file is the caller's claim).
      void transport().fdClose(fd).catch(() => undefined);
      throw e;
    }
  }

  /** Serves a listening socket handed over (systemd socket activation). */
  static adopt(fd: number, onConnection: (c: Connection) => void, onError: (message: string) => void): EngineSocket {
    return new EngineSocket(fd, onConnection, onError);
  }

  /** Stops taking connections (and closes the listening socket); those open go on. */
  stopListening(): void {
    this.#listener.close();
  }

  /** Closes every connection still open. */
  destroyAll(): void {
    for (const c of [...this.#conns.values()]) c.destroy();
  }
}
