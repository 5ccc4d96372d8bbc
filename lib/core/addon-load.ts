// Finds and loads the native addon, and when that fails says why and what
// fixes it. Where the addon may be, in order (node-gyp-build's lookup):
//   build/Release/pipewright.node          compiled here (a checkout, or the install
//                                          script's fallback `node-gyp rebuild`)
//   prebuilds/linux-<arch>/pipewright.glibc.node   shipped in the package (scripts/prebuild.sh)
// One N-API binary serves every Node ≥ 20, so a prebuilt matches on
// platform, architecture and C library only.
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { PipewrightError } from './errors';
import { checkTrustedPath } from './trusted-path';

interface NodeGypBuild {
  path(dir: string): string;
}

/** A tool on PATH? (For the "missing toolchain" part of the message.) */
function onPath(tool: string, pathVar = process.env.PATH ?? ''): boolean {
  return pathVar.split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, tool)));
}

/** The package manager that installed the package at root, from the layout it left. */
export function installerOf(root: string): 'pnpm' | 'npm' {
  return /[/\\]node_modules[/\\]\.pnpm[/\\]/.test(root) ? 'pnpm' : 'npm';
}

/** What to run to compile the addon here, and what that needs. */
function rebuildAdvice(root: string): string {
  const steps: string[] = [];
  if (installerOf(root) === 'pnpm') {
    steps.push('pnpm blocks the build scripts of dependencies: run `pnpm approve-builds` (allow pipewright), then `pnpm rebuild pipewright`');
  } else {
    steps.push('run `npm rebuild pipewright` (or `npm rebuild -g pipewright` for a global install)');
  }
  const missing = ['python3', 'make'].filter((t) => !onPath(t));
  if (!onPath('g++') && !onPath('c++')) missing.push('a C++ compiler (g++)');
  if (missing.length > 0) steps.push(`compiling needs ${missing.join(', ')}, not found on PATH (Debian/Ubuntu: apt-get install python3 make g++; Alpine: apk add python3 make g++)`);
  return steps.join('; ');
}

function addonError(message: string, file: string | undefined, cause: unknown): PipewrightError {
  return new PipewrightError('ERR_PW_ADDON_LOAD', message, { field: 'addon', value: file, cause });
}

/** The addon's file under root, or a typed error saying none fits this system. */
export function findAddon(root: string): string {
  // The same lookup node-gyp-build does, minus one thing: it would also load
  // from the directory in PIPEWRIGHT_PREBUILD, which decides what code runs,
  // so as root that must be a directory only root could have filled.
  const override = process.env.PIPEWRIGHT_PREBUILD;
  if (override) checkTrustedPath('PIPEWRIGHT_PREBUILD', override, 'directory');
  // The common case looked at directly (a checkout, or compiled at install):
  // node-gyp-build's general lookup lists directories, time every CLI start pays.
  const built = join(root, 'build', 'Release', 'pipewright.node');
  if (!override && existsSync(built)) return built;
  try {
    return (require('node-gyp-build') as NodeGypBuild).path(root);
  } catch (err) {
    const libc = glibcOrMusl();
    throw addonError(
      `the native addon is not built for this system (linux-${process.arch}, ${libc}, Node ${process.version}): ` +
        `no prebuilt addon in the package fits it (${prebuiltList(root)}) and none was compiled at install. ` +
        `To compile it: ${rebuildAdvice(root)}`,
      undefined,
      err,
    );
  }
}

/** What the package's prebuilds/ holds, for the message. */
function prebuiltList(root: string): string {
  try {
    const dirs = readdirSync(join(root, 'prebuilds'));
    if (dirs.length > 0) return `it has ${dirs.join(', ')}, for glibc`;
  } catch {
    // no prebuilds/ at all
  }
  return 'it has none';
}

function glibcOrMusl(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'musl or another non-glibc C library';
}

/** Loads the addon file; a failure (wrong architecture, too old a glibc, a broken build) becomes one typed error. */
export function loadAddonFile(file: string, root: string): unknown {
  try {
    return require(file);
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw addonError(`the native addon ${file} cannot be loaded on this system: ${why}. To compile it for this system: ${rebuildAdvice(root)}`, file, err);
  }
}

/**
 * The engine's native client (pipewright-fast) for this machine: compiled
 * here (build/Release) or shipped beside the prebuilt addon
 * (prebuilds/linux-<arch>/, scripts/prebuild.sh). Either finds the package
 * root three directories above itself, so the Node CLI it falls back to is
 * this package's.
 */
export function findNativeClient(root: string): string {
  const candidates = [join(root, 'build', 'Release', 'pipewright-fast'), join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'pipewright-fast')];
  const found = candidates.find((f) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return found;
  throw new PipewrightError('ERR_PW_ADDON_LOAD', `no native client (pipewright-fast) for ${process.platform}-${process.arch}: looked for ${candidates.join(' and ')}; ${rebuildAdvice(root)}`, { field: 'client', value: candidates[0] });
}
