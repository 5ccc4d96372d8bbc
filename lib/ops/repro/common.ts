// What every scenario needs: a private "host" namespace to work in, the real
// tools run as subprocesses inside a namespace, and a list of checks.
import { execFile, ChildProcess } from 'node:child_process';
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import type { Check } from './types';

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit (the old way's failures are data here). */
export function exec(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20, ...(opts.env ? { env: opts.env } : {}) }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown; killed?: boolean }) | null;
      let code = 0;
      if (e) code = typeof e.code === 'number' ? e.code : e.killed ? 124 : 127;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (e && typeof e.code !== 'number' ? e.message : '')) });
    });
  });
}

const children = new Set<ChildProcess>();
let exitHook = false;
/**
 * Long-running helpers (the agent, networkd, a mount-namespace holder) are
 * stopped by their scenario; if the process exits first (a timeout, a
 * crash), they are killed here, so none outlives the run.
 */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
  }
  return child;
}

/** A path naming the namespace we hold by fd: nsenter and `ip ... netns PATH` accept it. */
export function nsPath(ns: Netns): string {
  return `/proc/${process.pid}/fd/${ns.fd}`;
}

/** Runs a command inside a namespace, as an operator would with nsenter. */
export function inNs(ns: Netns, cmd: string, args: string[], timeoutMs?: number): Promise<Exec> {
  return exec('nsenter', [`--net=${nsPath(ns)}`, cmd, ...args], timeoutMs !== undefined ? { timeoutMs } : {});
}

/** Runs a bash script inside a namespace: the old way, as the operators' scripts did it. */
export function script(ns: Netns, text: string, args: string[] = [], timeoutMs?: number): Promise<Exec> {
  return inNs(ns, 'bash', ['-c', text, 'repro', ...args], timeoutMs);
}

/** One echo request from inside `ns`; true when answered. */
export async function ping(ns: Netns, address: string): Promise<boolean> {
  return (await inNs(ns, 'ping', ['-c', '1', '-W', '2', '-n', address], 5000)).code === 0;
}

/** A fresh namespace standing in for the host, with lo up; closed (and so destroyed) by the caller. */
export async function privateHost(): Promise<{ ns: Netns; h: Handle; close(): Promise<void> }> {
  const ns = await Netns.create();
  let h: Handle;
  try {
    h = await Handle.open(ns);
    await h.link.set('lo', { up: true });
  } catch (e) {
    await ns.close();
    throw e;
  }
  return {
    ns,
    h,
    close: async () => {
      await h.close();
      await ns.close();
    },
  };
}

/** In every name this process makes, so its own entries can be told from a concurrent test's. */
export const OWN_TAG = `${process.pid % 100000}x`;
let counter = 0;
/** A name unique to this process and call, short enough for a netns or an interface. */
export function uniqueName(prefix: string): string {
  return `${prefix}${OWN_TAG}${++counter}`;
}

export class Checks {
  readonly list: Check[] = [];
  ok(cond: boolean, what: string): boolean {
    this.list.push({ what, ok: cond });
    return cond;
  }
  equal<T>(actual: T, expected: T, what: string): boolean {
    const ok = JSON.stringify(actual) === JSON.stringify(expected);
    this.list.push({ what: ok ? what : `${what} (got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)})`, ok });
    return ok;
  }
  get pass(): boolean {
    return this.list.length > 0 && this.list.every((c) => c.ok);
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return `${(e as { code?: string }).code ? `${(e as { code?: string }).code}: ` : ''}${e.message}`;
  return String(e);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
