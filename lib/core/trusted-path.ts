// Paths named by the environment (PW_ADDON_PATH, PW_STATE_DIR, DOCKER_HOST)
// decide what code runs, where state is written and which engine's answer
// picks a namespace. Running as root, each must be deliberate: the object
// itself owned by root and not a symbolic link, and every directory the
// kernel passes through to reach it owned by root and not writable by group
// or others (or sticky, like /tmp, where only an entry's owner may replace
// it), so no other user can have put it there or swap it between this check
// and its use.
// Not root: nothing is checked (a user's own files are theirs to load).
// Root only inside a user namespace (rootless: scripts/sandbox.sh as a user)
// is not checked either: there, the process has no more than the user's own
// rights, and files of users the namespace does not map all show as owned
// by 65534, so "owned by root" could not even be told.
import { lstatSync, readFileSync, readlinkSync, Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PipewrightError } from './errors';

export type TrustedKind = 'file' | 'directory' | 'socket';

const KIND_TEST: Record<TrustedKind, (st: Stats) => boolean> = {
  file: (st) => st.isFile(),
  directory: (st) => st.isDirectory(),
  socket: (st) => st.isSocket(),
};

const S_ISVTX = 0o1000;

function untrusted(variable: string, path: string, why: string): PipewrightError {
  return new PipewrightError(
    'ERR_PW_UNTRUSTED_ENV',
    `${variable}: ${JSON.stringify(path)} ${why}; running as root, pipewright only uses what the environment names when it is root's alone (unset ${variable}, or fix the ownership and mode)`,
    { field: variable, value: path },
  );
}

function describeMode(st: Stats): string {
  return `owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/** Why a directory on the way is not root's alone, or null when it is. */
function weakDirectory(st: Stats): string | null {
  if (st.uid !== 0) return 'is not owned by root';
  if ((st.mode & 0o022) !== 0 && (st.mode & S_ISVTX) === 0) return 'is writable by group or others';
  return null;
}

/**
 * Verdicts remembered while command lines of the engine are at work
 * (withTrustedPathMemo): null when none is.
 */
let memo: Set<string> | null = null;
let atWork = 0;

/**
 * Runs `fn` with each path's verdict remembered. The engine runs every
 * command line inside one: a command asks for the state directory several
 * times (the journal entry before and after, the lock), and each check is a
 * walk of lstat calls from '/' (~0.1 ms per attach, measured). A verdict
 * found trusted cannot go stale in a way that matters: every directory on
 * the way was root's alone when it was checked, so only root can have
 * changed one since. Still, none outlives the command lines at work, and
 * each command line that starts begins a fresh memo (the others at work
 * then check again, and share its verdicts, all younger than its start): a
 * verdict is never older than the newest command line's start. Library
 * callers outside one are checked on every call.
 *
 * Not an AsyncLocalStorage per command line, as it was: in Node 20 that
 * turns on async hooks for every promise the process makes from then on,
 * which cost the engine's event loop more per attach than the walks saved.
 */
export async function withTrustedPathMemo<T>(fn: () => Promise<T>): Promise<T> {
  memo = new Set();
  atWork++;
  try {
    return await fn();
  } finally {
    if (--atWork === 0) memo = null;
  }
}

let initialUserNs: boolean | undefined;

/** True in the host's own user namespace: uid_map is the identity over every uid. */
function inInitialUserNamespace(): boolean {
  if (initialUserNs === undefined) {
    try {
      initialUserNs = /^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));
    } catch {
      initialUserNs = true; // no /proc to tell: assume the stricter case
    }
  }
  return initialUserNs;
}

/**
 * Throws ERR_PW_UNTRUSTED_ENV unless `path` (named by `variable`) is an
 * object of `kind` that only root could have put there. A path that does
 * not exist yet is fine when its nearest existing directory is (it will be
 * created by us, as root). Returns the absolute path.
 */
export function checkTrustedPath(variable: string, path: string, kind: TrustedKind, opts: { euid?: number; mayBeMissing?: boolean } = {}): string {
  const abs = resolve(path);
  const euid = opts.euid ?? process.geteuid?.() ?? 0;
  if (euid !== 0 || (opts.euid === undefined && !inInitialUserNamespace())) return abs;
  const key = `${variable}\0${abs}\0${kind}\0${opts.mayBeMissing === true}`;
  if (memo?.has(key)) return abs;
  checkObject(variable, path, abs, kind, opts.mayBeMissing === true);
  memo?.add(key);
  return abs;
}

function checkObject(variable: string, path: string, abs: string, kind: TrustedKind, mayBeMissing: boolean): void {
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw untrusted(variable, path, `cannot be inspected (${(e as Error).message})`);
    if (!mayBeMissing) throw untrusted(variable, path, 'does not exist');
    let parent = dirname(abs);
    for (;;) {
      try {
        lstatSync(parent);
        break;
      } catch {
        parent = dirname(parent);
      }
    }
    checkDirectories(variable, path, parent);
    return;
  }
  if (st.isSymbolicLink()) throw untrusted(variable, path, 'is a symbolic link (name the real path)');
  if (!KIND_TEST[kind](st)) throw untrusted(variable, path, `is not a ${kind}`);
  if (st.uid !== 0) throw untrusted(variable, path, `is not owned by root (${describeMode(st)})`);
  // A socket's own mode only says who may connect (Docker's is 0660 for its
  // group); who could replace it is decided by the directories above it.
  if (kind !== 'socket' && (st.mode & 0o022) !== 0) throw untrusted(variable, path, `is writable by group or others (${describeMode(st)})`);
  checkDirectories(variable, path, dirname(abs));
}

/**
 * Walks `dir` from '/' the way the kernel resolves it, checking every
 * directory it passes through. A symbolic link on the way is followed (its
 * directory was just checked, so only root could have made it: /var/run ->
 * /run is fine), and the walk continues in its target.
 */
function checkDirectories(variable: string, path: string, dir: string): void {
  let todo = dir.split('/').filter((c) => c !== '' && c !== '.');
  let cur = '/';
  // Each directory is judged from the one lstat that also said it is a directory (not a second one).
  const check = (d: string, st: Stats) => {
    const why = weakDirectory(st);
    if (why) throw untrusted(variable, path, `lies in ${d}, which ${why} (${describeMode(st)})`);
  };
  check(cur, lstatSync(cur));
  for (let links = 0; todo.length > 0; ) {
    const c = todo.shift()!;
    if (c === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = cur === '/' ? `/${c}` : `${cur}/${c}`;
    let st: Stats;
    try {
      st = lstatSync(next);
    } catch (e) {
      throw untrusted(variable, path, `lies in ${next}, which cannot be inspected (${(e as Error).message})`);
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) throw untrusted(variable, path, 'has too many symbolic links on its way');
      const target = readlinkSync(next);
      todo = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...todo];
      if (target.startsWith('/')) cur = '/';
      continue;
    }
    if (!st.isDirectory()) throw untrusted(variable, path, `lies in ${next}, which is not a directory`);
    cur = next;
    check(cur, st);
  }
}
