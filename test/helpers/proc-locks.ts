// File locks as the kernel sees them (/proc/locks), for tests that wait on a
// lock's state instead of on time: who holds a file, who waits for it
// (marked "->").
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';

/** How /proc/locks names a file: major:minor:inode, the device numbers in hex. */
export function lockId(path: string): string {
  const { dev, ino } = statSync(path);
  const major = (dev >> 8) & 0xfff;
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `${hex(major)}:${hex(minor)}:${ino}`;
}

/** The lines of /proc/locks about the file `id` names. */
export function locksOn(id: string): string[] {
  return readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes(` ${id} `));
}

export const held = (lines: string[]): boolean => lines.some((l) => !l.includes('->'));
export const waitedFor = (lines: string[]): boolean => lines.some((l) => l.includes('->'));

/** Polls /proc/locks until `want` holds for the lines about `id` (a generous deadline: the machine may be loaded). */
export async function untilLocks(id: string, want: (lines: string[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = locksOn(id);
    if (want(lines)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** flock(1) holding `path` (an existing file) exclusively in a process of its own, until released. */
export async function holdFlock(path: string): Promise<{ release(): Promise<void> }> {
  const child = spawn('flock', ['-x', path, 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  await Promise.race([failed, untilLocks(lockId(path), held, `flock(1) to hold ${path}`)]);
  return { release: () => (child.stdin!.end(), exited) };
}
