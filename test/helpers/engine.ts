// The resident engine in live tests: started inside a scene's host
// namespace with its own state directory (so engines of parallel tests
// never meet), the native client run there too, and the engine's status
// read through Engine.connect(). Readiness and events are taken from the
// engine's log and status, never from elapsed time.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '../../lib';
import type { Scene } from './scene';
import { Engine } from '../../lib/ops/engine';
import { MAIN, finish, type Run } from './cli';

export const FAST = join(__dirname, '..', '..', 'build', 'Release', 'pipewright-fast');

let counter = 0;

/** A fresh state directory of this test's own (root's, 0700), removed by the returned function. */
export function privateStateDir(): { dir: string; remove: () => void } {
  const base = process.env.PW_STATE_DIR ?? '/tmp';
  const dir = join(base, `engine-test-${process.pid}-${++counter}`);
  mkdirSync(dir, { mode: 0o700 });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function envWith(stateDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PW_STATE_DIR: stateDir };
  delete env.PIPEWRIGHT_ENGINE_SOCKET;
  delete env.PIPEWRIGHT_NO_ENGINE;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface RunningEngine {
  child: ChildProcess;
  socket: string;
  log(): string;
  /** Resolves when the log has a line matching re (rejects if the engine exits first). */
  waitLog(re: RegExp): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
  status(): Promise<Record<string, any>>;
}

/**
 * Runs a command that must not outlive this test process: the kernel kills
 * it (PR_SET_PDEATHSIG, through setpriv; kept across the execs that follow)
 * when the test dies, also when tap kills a test that overran its time. A
 * resident engine would otherwise stay behind, holding its sandbox's
 * namespaces. The pid is the command's own (setpriv and nsenter exec).
 */
export function tied(command: string, args: readonly string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', command, ...args]];
}

/** Starts `pipewright engine` in ns; resolves once it says it is ready. */
export async function startEngine(ns: Netns, stateDir: string, args: string[] = [], extraEnv: Record<string, string | undefined> = {}): Promise<RunningEngine> {
  const child = spawn(...tied('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, process.execPath, MAIN, 'engine', ...args]), { stdio: ['ignore', 'ignore', 'pipe'], env: envWith(stateDir, extraEnv) });
  let log = '';
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }> = [];
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const check = () => {
    for (const w of [...waiters]) {
      const m = log.split('\n').find((l) => w.re.test(l));
      if (m !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stderr!.on('data', (b: Buffer) => {
    log += b.toString();
    check();
  });
  void exited.then((code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`the engine exited (${code}) before logging ${w.re}; its log:\n${log}`));
  });
  const socket = args.includes('--socket') ? args[args.indexOf('--socket') + 1]! : join(stateDir, 'engine', 'socket');
  const e: RunningEngine = {
    child,
    socket,
    log: () => log,
    waitLog: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        check();
      }),
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    exited,
    status: async () => (await Engine.connect({ socket })).status() as Promise<Record<string, any>>,
  };
  await e.waitLog(/ready on/);
  return e;
}

/** Runs the native client in ns (its current network namespace) with this state directory. */
export function fast(ns: Netns, stateDir: string, args: string[], extraEnv: Record<string, string | undefined> = {}, stdin?: string): Promise<Run> {
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, FAST, ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: envWith(stateDir, extraEnv) });
  if (stdin !== undefined) child.stdin!.end(stdin);
  return finish(child);
}

/** Runs the Node CLI (the installed command) in ns with this state directory. */
export function node(ns: Netns, stateDir: string, args: string[], stdin?: string): Promise<Run> {
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, process.execPath, MAIN, ...args], { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env: envWith(stateDir) });
  if (stdin !== undefined) child.stdin!.end(stdin);
  return finish(child);
}

/** Polls `probe` until it returns a value (not undefined); a generous deadline only guards against a hang. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts an engine for the scene and stops it (woken first, if a test stopped it) and removes its state directory at the scene's end. */
export async function sceneEngine(s: Scene, args: string[] = []): Promise<{ engine: RunningEngine; stateDir: string }> {
  const { dir, remove } = privateStateDir();
  const engine = await startEngine(s.hostNs, dir, args);
  s.defer(async () => {
    engine.child.kill('SIGCONT');
    await engine.stop();
    remove();
  });
  return { engine, stateDir: dir };
}

/** The host end of a guest's attachment, once the engine follows it. */
export async function followed(engine: RunningEngine, guestNetns: string): Promise<{ index: number; name: string; bridge: number }> {
  return until(`the engine to follow ${guestNetns}`, async () => ((await engine.status()).tracked as Array<{ index: number; name: string; bridge: number; guestNetns: string }>).find((x) => x.guestNetns === guestNetns));
}

/**
 * A ten-minute `attach --watch` of `guest` to br0 through the client, at
 * work in the engine's serial queue when this resolves: only its client's
 * departure (end(), a SIGKILL) ends it within a test. Ended at the scene's
 * end if a test did not.
 */
export async function longWatch(s: Scene, engine: RunningEngine, stateDir: string, guest: string, address: string): Promise<{ child: ChildProcess; end(): Promise<void> }> {
  const child = spawn(...tied('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, FAST, 'br0', guest, address, '--watch', '600000']), { stdio: 'ignore', env: envWith(stateDir) });
  const gone = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const end = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await gone;
  };
  s.defer(end);
  await until('the watch at work in the engine', async () => ((await engine.status()).busy ? true : undefined));
  return { child, end };
}
