// Runs the built CLI as it is installed (package.json's "bin":
// dist/lib/cli/launch.js, which runs the bundle dist/cli/pipewright.js) with
// a given namespace as its current network namespace — the scene's private
// "host" — and collects its exit code and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '../../lib';

export const MAIN = join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'launch.js');
const BUNDLE = join(__dirname, '..', '..', 'dist', 'cli', 'pipewright.js');
for (const f of [MAIN, BUNDLE]) if (!existsSync(f)) throw new Error(`${f} is missing: build it first with 'npm run build:ts'`);

export interface Run {
  code: number | null;
  /** Set when the CLI was killed by a signal (code is then null). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI inside `ns` (through our fd to it), with our environment or `env`. */
export function start(ns: Netns, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  return spawn('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, process.execPath, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
}

/** Collects a started CLI's output and exit code. */
export function finish(child: ChildProcess): Promise<Run> {
  const r: Run = { code: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => (r.stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (r.stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ ...r, code, signal }));
  });
}

/** Runs the CLI with `ns` as its current network namespace. */
export const cli = (ns: Netns, ...args: string[]): Promise<Run> => finish(start(ns, args));

/** The same with environment variables added to ours (undefined removes one). */
export const cliWithEnv = (ns: Netns, env: Record<string, string | undefined>, ...args: string[]): Promise<Run> => {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  }
  return finish(start(ns, args, merged));
};
