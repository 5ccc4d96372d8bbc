// Runs the built CLI as it is installed (package.json's "bin":
// dist/lib/cli/launch.js, which runs a bundle of dist/cli/) with
// a given namespace as its current network namespace — the scene's private
// "host" — and collects its exit code and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Netns } from '../../lib';
import { LEAN_BUNDLES, WHOLE_CLI } from '../../lib/cli/bundles';

export const MAIN = join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'launch.js');
const BUNDLES = [WHOLE_CLI, ...LEAN_BUNDLES].map((b) => join(__dirname, '..', '..', 'dist', 'cli', b.file));
for (const f of [MAIN, ...BUNDLES]) if (!existsSync(f)) throw new Error(`${f} is missing: build it first with 'npm run build:ts'`);

export interface Run {
  code: number | null;
  /** Set when the CLI was killed by a signal (code is then null). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const FAST = join(__dirname, '..', '..', 'build', 'Release', 'pipewright-fast');

/**
 * PW_TEST_VIA_ENGINE=1: every command line goes through the native client
 * to an engine started for it in the same namespace (own socket, no
 * reconciliation, stopped after the command), so the CLI suites check that
 * the engine gives the same results (issue 15). When the engine cannot start
 * (another one holds this namespace's lock) the client runs the Node CLI,
 * as it would in the field. Waiting for the socket is a wait for a state.
 * PW_TEST_VIA_ENGINE_LOG=FILE also records, per command, whether the
 * engine served it.
 */
const VIA_ENGINE = `
S="\${PW_STATE_DIR:-/tmp}/engine-cli-$$.sock"
"$NODE" "$MAIN" engine --no-reconcile --socket "$S" 2>/dev/null & E=$!
while [ ! -S "$S" ] && kill -0 "$E" 2>/dev/null; do sleep 0.01; done
PIPEWRIGHT_ENGINE_SOCKET="$S" "$FAST" "$@"; rc=$?
if [ -n "$PW_TEST_VIA_ENGINE_LOG" ]; then
  served=$( [ -S "$S" ] && "$NODE" "$MAIN" engine status --socket "$S" --json 2>/dev/null | grep -o '"served": [0-9]*' )
  echo "\${served:-no engine}: $*" >> "$PW_TEST_VIA_ENGINE_LOG"
fi
kill -TERM "$E" 2>/dev/null; wait "$E" 2>/dev/null
exit $rc`;

/** Starts the CLI inside `ns` (through our fd to it), with our environment or `env`. */
export function start(ns: Netns, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const net = `--net=/proc/${process.pid}/fd/${ns.fd}`;
  if (process.env.PW_TEST_VIA_ENGINE === '1') {
    return spawn('nsenter', [net, 'sh', '-c', VIA_ENGINE, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...(env ?? process.env), NODE: process.execPath, MAIN, FAST } });
  }
  return spawn('nsenter', [net, process.execPath, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
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
