#!/usr/bin/env node
// pipewright-cni: the CNI plugin executable (a runtime execs it by the
// configuration's "type": install it, or a link to it, as "pipewright" in
// CNI_PATH). Also `pipewright cni`. Reads the configuration on stdin and the
// CNI_* variables; writes nothing but the result (or the error JSON) on
// stdout; logs go to stderr only with "verbose": true.
import { syncOut } from './sync-out';

const stdout = syncOut(1);
const stderr = syncOut(2);

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** Runs the plugin for this process; resolves with its exit code. */
export async function runCni(): Promise<number> {
  // The library loads after stdin is read: a VERSION call pays for little.
  const stdin = process.env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY ? '' : await readStdin();
  const { runPlugin } = await import('../ops/cni/plugin');
  const out = await runPlugin(process.env, stdin);
  if (out.stdout) stdout.write(out.stdout);
  for (const l of out.log) stderr.write(`pipewright-cni: ${l}\n`);
  return out.exitCode;
}

/** `pipewright cni` (lib/cli/main.ts): the same, arguments ignored as runtimes pass none. */
export async function run(_args: readonly string[]): Promise<number> {
  return runCni();
}

if (require.main === module) {
  // Run as the plugin executable: through the installed command's bundle and
  // its V8 code cache (launch.ts), as `pipewright cni`; a runtime starts one
  // process per call, and Node's start is most of a call's time.
  process.argv.splice(2, process.argv.length - 2, 'cni');
  require('./launch');
}
