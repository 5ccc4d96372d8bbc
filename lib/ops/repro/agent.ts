// A stand-in for systemd-networkd, NetworkManager or a udev rule: a separate
// process that watches a namespace's link events and, the first time it sees
// a matching link enslaved to a bridge, undoes that a few milliseconds later
// (releases it, or sets it down). One-shot per link, as networkd's initial
// configuration is. It runs as its own process so that its timing relative to
// the provisioning commands is as real as an actual agent's.
//
// Protocol: argv = NS_PATH NAME_REGEX MIN_DELAY_MS MAX_DELAY_MS ACTION
// (ACTION: release | down | both | alternate). It prints "ready" once
// subscribed, then one JSON line per action taken; it exits when its stdin
// closes (so it never outlives the scenario that started it).
import { spawn, ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { track } from './common';
import { packageRoot } from '../../core/paths';

export type AgentAction = 'release' | 'down' | 'both' | 'alternate';

export interface AgentOptions {
  /** A path that names the namespace to watch (e.g. /proc/PID/fd/FD). */
  nsPath: string;
  /** Links whose name matches are handled. */
  match: RegExp;
  minDelayMs: number;
  maxDelayMs: number;
  action: AgentAction;
}

export interface AgentEvent {
  name: string;
  index: number;
  did: 'release' | 'down' | 'both';
  delayMs: number;
  error?: string;
}

export interface RunningAgent {
  events: AgentEvent[];
  /**
   * Resolves true once the agent has reported `n` actions (each is reported
   * after it took effect), false if it exits or `timeoutMs` passes first.
   */
  acted(n: number, timeoutMs: number): Promise<boolean>;
  /** Closes its stdin and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * The agent's own file: compiled JS when installed (also when this code runs
 * from the CLI bundle), TypeScript under the test runner (same loader flags).
 */
function agentFile(): string {
  if (__filename.endsWith('.ts')) return __filename;
  return join(packageRoot(), 'dist', 'lib', 'ops', 'repro', 'agent.js');
}

/**
 * Starts the agent and resolves once it is subscribed (events from then on
 * are seen). The deadline only bounds a failure: a node process with the
 * test runner's TypeScript loader can take seconds to start on a busy machine.
 */
export async function startAgent(o: AgentOptions, timeoutMs = 60_000): Promise<RunningAgent> {
  const file = agentFile();
  // Compiled, it needs no node flags (ours may be `-e SCRIPT`); from
  // TypeScript, it needs the test runner's loader, which is in execArgv.
  const flags = file.endsWith('.ts') ? process.execArgv.filter((a, i, all) => !/^(-e|--eval|-p|--print)(=|$)/.test(a) && !/^(-e|--eval|-p|--print)$/.test(all[i - 1] ?? '')) : [];
  const args = [...flags, file, o.nsPath, o.match.source, String(o.minDelayMs), String(o.maxDelayMs), o.action];
  // From TypeScript sources (the test runner's loader is in execArgv), skip
  // type-checking in the child: the sources are checked anyway, and checking
  // again costs seconds of start-up.
  const env = file.endsWith('.ts') ? { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' } : process.env;
  const child: ChildProcess = track(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env }));
  const events: AgentEvent[] = [];
  const onEvent = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const acted = (n: number, ms: number) =>
    new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(timer);
        onEvent.delete(check);
        resolve(v);
      };
      const check = () => {
        if (events.length >= n) done(true);
      };
      const timer = setTimeout(() => done(false), ms);
      onEvent.add(check);
      void exited.then(() => done(events.length >= n));
      check();
    });
  const stop = async () => {
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not start within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
    child.on('exit', (code) => reject(new Error(`the agent exited (${code}) before it was ready: ${stderr.trim()}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (line.startsWith('{')) {
        events.push(JSON.parse(line) as AgentEvent);
        for (const f of onEvent) f();
      }
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { events, acted, stop };
}

async function main(argv: string[]): Promise<void> {
  const [nsPath, pattern, min, max, action] = argv as [string, string, string, string, AgentAction];
  const match = new RegExp(pattern);
  const [lo, hi] = [Number(min), Number(max)];
  const ns = await Netns.open({ path: nsPath });
  const h = await Handle.open(ns);
  const w = h.watch(['link']);
  await w.ready;
  const seen = new Set<number>();
  const pending = new Set<Promise<void>>();
  let n = 0;
  process.stdin.on('end', () => void w.close());
  process.stdin.resume();
  process.stdout.write('ready\n');
  for await (const ev of w) {
    if (ev.kind !== 'link' || ev.action === 'del' || ev.link.master === null) continue;
    const { index, name } = ev.link;
    if (!match.test(name) || seen.has(index)) continue;
    seen.add(index);
    const did = action === 'alternate' ? (n++ % 2 === 0 ? 'release' : 'down') : action;
    const delayMs = lo + Math.random() * (hi - lo);
    const p = new Promise<void>((r) => setTimeout(r, delayMs)).then(async () => {
      const change = did === 'release' ? { master: null } : did === 'down' ? { up: false } : { master: null, up: false };
      const out: AgentEvent = { name, index, did, delayMs: Math.round(delayMs * 10) / 10 };
      try {
        await h.link.set(index, change);
      } catch (e) {
        // The link may be gone already (deleted by its owner): say so, carry on.
        out.error = e instanceof Error ? e.message : String(e);
      }
      process.stdout.write(`${JSON.stringify(out)}\n`);
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  await h.close();
  await ns.close();
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e instanceof Error ? e.stack : String(e));
      process.exit(1);
    },
  );
}
