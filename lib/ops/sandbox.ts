// Self-sandboxing for examples, demos and benchmarks: re-run this very
// script inside a throwaway network + mount namespace (scripts/sandbox.sh),
// so it can never touch the host's network. Published as 'pipewright/sandbox'
// (package.json "exports"), not part of the library's API.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../core/paths';

/** True when already running inside a pipewright sandbox. */
export function inSandbox(): boolean {
  return process.env.PW_SANDBOXED === '1';
}

/**
 * Inside a sandbox: returns. Outside: runs the current script again inside
 * one, waits, and exits with its status (this call never returns then).
 */
export function ensureSandbox(): void {
  if (inSandbox()) return;
  const script = join(packageRoot(), 'scripts', 'sandbox.sh');
  const r = spawnSync(script, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (r.error) {
    console.error(`cannot start the sandbox (${script}): ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? 1);
}
