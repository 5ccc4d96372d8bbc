// A scene is one test's private world: a fresh "host" namespace (so tests
// never share the sandbox's root namespace with each other), handles, and
// guests. Teardown closes everything and checks that nothing was left open.
import { readdirSync, readlinkSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Handle, Netns } from '../../lib';

const run = promisify(execFile);

export interface Guest {
  ns: Netns;
  handle: Handle;
}

/** The fds of this process that hold a namespace or a socket, by fd number. */
export function heldFds(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('net:[') || target.startsWith('socket:[')) out.set(fd, target);
    } catch {
      // closed while we looked (readdir's own fd)
    }
  }
  return out;
}

/** The network namespace of every thread of this process. */
export function threadNamespaces(): Set<string> {
  const out = new Set<string>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      out.add(readlinkSync(`/proc/self/task/${tid}/ns/net`));
    } catch {
      // thread exited while we looked
    }
  }
  return out;
}

let counter = 0;
/** A namespace name unique to this process and call. */
export function uniqueName(prefix = 'pw'): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** Runs a command inside a namespace (nsenter through our fd: works for anonymous ones too). */
export async function inNetns(ns: Netns, cmd: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; stderr: string }> {
  return run('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, cmd, ...args], { timeout: timeoutMs });
}

/** One ICMP echo from inside `ns` to `address`; resolves true when answered. */
export async function ping(ns: Netns, address: string, count = 1): Promise<boolean> {
  try {
    await inNetns(ns, 'ping', ['-c', String(count), '-W', '2', '-i', '0.2', address]);
    return true;
  } catch {
    return false;
  }
}

export class Scene {
  readonly guests: Guest[] = [];
  private readonly extra: Array<() => Promise<unknown>> = [];

  private constructor(readonly hostNs: Netns, readonly host: Handle) {}

  static async create(): Promise<Scene> {
    const hostNs = await Netns.create();
    const host = await Handle.open(hostNs);
    await host.link.set('lo', { up: true });
    return new Scene(hostNs, host);
  }

  /** A guest namespace with lo up; named (visible in /run/netns) when asked. */
  async guest(opts: { named?: boolean } = {}): Promise<Guest> {
    const ns = await Netns.create(opts.named ? { name: uniqueName('guest') } : {});
    const handle = await Handle.open(ns);
    await handle.link.set('lo', { up: true });
    const g = { ns, handle };
    this.guests.push(g);
    return g;
  }

  /** Registers extra cleanup, run before the scene's own. */
  defer(fn: () => Promise<unknown>): void {
    this.extra.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.extra.reverse()) await fn();
    for (const g of this.guests) {
      await g.handle.close();
      await g.ns.delete();
    }
    await this.host.close();
    await this.hostNs.close();
  }
}

/**
 * Runs body with a fresh scene and asserts afterwards that every fd the test
 * opened (namespaces, sockets) was closed and no thread changed namespace.
 */
export async function withScene(
  t: { teardown(fn: () => unknown): void; same(a: unknown, b: unknown, msg: string): unknown; equal(a: unknown, b: unknown, msg: string): unknown },
  body: (s: Scene) => Promise<void>,
): Promise<void> {
  const fdsBefore = heldFds();
  const threadsBefore = threadNamespaces();
  const s = await Scene.create();
  try {
    await body(s);
  } finally {
    await s.close();
  }
  const leakedNow = () => [...heldFds()].filter(([fd, target]) => fdsBefore.get(fd) !== target).map(([fd, target]) => `${fd} -> ${target}`);
  // A gratuitous ARP's packet socket is closed on a thread of its own after
  // the ARP resolves (its close waits ~10 ms for an RCU grace period, see
  // native/arp.cc): wait for that state. The deadline only bounds a real
  // leak; on a loaded machine such a close can take far longer than 10 ms.
  let leaked = leakedNow();
  for (const until = Date.now() + 10_000; leaked.length > 0 && Date.now() < until; leaked = leakedNow()) await new Promise((r) => setTimeout(r, 10));
  t.same(leaked, [], 'no namespace or socket fd left open');
  t.same([...threadNamespaces()], [...threadsBefore], 'every thread is still in its original namespace');
}
