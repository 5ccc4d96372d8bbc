// Files of a shared store (lib/core/locked-dir.ts) as another program
// changes them, and the state in which the addon keeps what it read of them
// (native/store_file_cache.h): for the tests of what a reading sees.
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Waits until each file's change time is 300 ms old: older than the addon's threshold, so what it reads is kept. */
export async function settled(files: string[]): Promise<void> {
  for (const f of files) while (Date.now() - statSync(f).ctimeMs <= 300) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Rewrites `file` in place with data of the same length, its modification
 * time put back to the nanosecond (utimes from JS rounds it: touch -r via a
 * file made in `scratchDir`): only the change time tells.
 */
export function rewriteInPlace(file: string, data: string, scratchDir: string): void {
  const times = join(scratchDir, 'times');
  writeFileSync(times, '');
  execFileSync('touch', ['-r', file, times]);
  writeFileSync(file, data, { flag: 'r+' });
  execFileSync('touch', ['-r', times, file]);
}
