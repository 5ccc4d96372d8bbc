// For the pack-and-install test: the package packed from a copy of this
// checkout (so the checkout's dist/ is never rebuilt under other tests), the
// dependencies' tarballs made from the checkout's node_modules (so a fresh
// project installs with no registry and no network), and commands run with
// a PATH that has no compiler.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program; never throws on a non-zero exit (the caller asserts). */
export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    // SIGKILL on a timeout: a contained() command's unshare then takes its whole PID namespace with it.
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeout ?? 300_000, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** System tools by their paths: some commands run with a PATH that has nothing but node and sh. */
const tool = (name: string): string => ['/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p)) ?? name;
export const UNSHARE = tool('unshare');
const SETPRIV = tool('setpriv');

/**
 * cmd and args run in a PID namespace of their own whose first process dies
 * with this test process (setpriv --pdeathsig, kept across exec) or with a
 * timeout (sh's SIGKILL): unshare --kill-child then kills the namespace's
 * first process, and the kernel every other process in it. So a test that is
 * killed or times out mid-way leaves no npm script, node-gyp, make or g++
 * running, writing into a directory already removed. `flags` adds unshare
 * flags (--net: no network at all).
 */
export function contained(cmd: string, args: string[], flags: string[] = []): [string, string[]] {
  return [SETPRIV, ['--pdeathsig', 'KILL', UNSHARE, '--pid', '--fork', '--kill-child', ...flags, cmd, ...args]];
}

/**
 * A temporary directory on a tmpfs of its own, mounted in this test's
 * private mount namespace (scripts/sandbox.sh): whatever is written there
 * (the package copy, two compiles, npm's and pnpm's caches, two installs) is
 * freed with the mount, even if the test is killed before its teardown;
 * the teardown unmounts it and removes the empty directory.
 */
export async function scratchDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = mkdtempSync(prefix);
  const m = await sh(tool('mount'), ['-t', 'tmpfs', '-o', 'mode=0700', 'pw-pack', dir]);
  if (m.code !== 0) {
    rmdirSync(dir);
    throw new Error(`mounting a tmpfs on ${dir} failed: ${m.stderr}`);
  }
  return {
    dir,
    remove: async () => {
      const u = await sh(tool('umount'), ['--lazy', dir]);
      if (u.code !== 0) throw new Error(`unmounting ${dir} failed: ${u.stderr}`);
      rmdirSync(dir);
    },
  };
}

/** npm's own CLI scripts, beside this node (Node's layout: bin/node, lib/node_modules/npm). */
export function npmCli(which: 'npm' | 'npx'): string {
  return join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', `${which}-cli.js`);
}

/** `npm pack --json` prints lifecycle scripts' output first: the JSON is the array at the end. */
export function parsePackJson(stdout: string): Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }> {
  const start = stdout.search(/^\[\s*\{\s*"id"/m);
  if (start < 0) throw new Error(`no JSON in npm pack's output: ${stdout.slice(-2000)}`);
  return JSON.parse(stdout.slice(start)) as ReturnType<typeof parsePackJson>;
}

/** A copy of the checkout without node_modules (linked), build/, dist/ or .git: what a pack starts from. */
export async function copyCheckout(to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  const excludes = ['./node_modules', './.git', './build', './dist', './.tap'].flatMap((e) => ['--exclude', e]);
  // tar keeps modification times: prebuilds/ newer than native/ stays up to date.
  const r = await sh('sh', ['-c', 'src=$1 dst=$2; shift 2; tar -C "$src" "$@" -cf - . | tar -C "$dst" -xf -', 'sh', ROOT, to, ...excludes]);
  if (r.code !== 0) throw new Error(`copying the checkout failed: ${r.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(to, 'node_modules'));
}

/**
 * Tarballs of the package's runtime dependencies, packed from the checkout's
 * node_modules, and the overrides that make npm and pnpm take them instead of
 * asking the registry.
 */
export async function dependencyTarballs(dir: string): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const out: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies)) {
    const r = await sh(process.execPath, [npmCli('npm'), 'pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: join(ROOT, 'node_modules', name), env: { ...process.env, npm_config_cache: join(dir, '.npm') } });
    if (r.code !== 0) throw new Error(`packing ${name} failed: ${r.stderr}`);
    out[name] = `file:${join(dir, parsePackJson(r.stdout)[0]!.filename)}`;
  }
  return out;
}

/** A fresh project whose dependencies' versions come from the given tarballs (for npm and pnpm alike). */
export function freshProject(dir: string, overrides: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fresh-project', version: '1.0.0', private: true, overrides, pnpm: { overrides } }, null, 2));
}

/** The shell tools package managers' command shims use (pnpm's: sed, dirname, uname). */
const SHELL_TOOLS = ['sh', 'sed', 'dirname', 'basename', 'uname', 'cat', 'env'];

/** A directory for PATH holding node and a few shell tools: no make, no compiler, no python. */
export function noCompilerPath(dir: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of SHELL_TOOLS) {
    const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (found) symlinkSync(found, join(dir, tool));
  }
  return dir;
}
