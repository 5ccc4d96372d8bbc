// The libcni test driver (test/cni/driver/main.go), built at test time
// offline against Debian's libcni source (GOPATH mode, no module proxy) into
// a cache directory outside the source tree, keyed by the source's hash so
// it is rebuilt only when main.go changed. Two test files building at once
// each build into a private temp file and rename it into place.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, accessSync, constants } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const DRIVER_SRC = resolve(__dirname, '../cni/driver');
const GOPATH = '/usr/share/gocode';
const LIBCNI = join(GOPATH, 'src/github.com/containernetworking/cni/libcni');

/** Where built things are kept between runs: PW_TEST_CACHE, else ~/.cache, else the temp dir. */
function cacheRoot(): string {
  if (process.env.PW_TEST_CACHE) return process.env.PW_TEST_CACHE;
  for (const base of [process.env.XDG_CACHE_HOME, join(homedir(), '.cache'), tmpdir()]) {
    if (!base) continue;
    try {
      mkdirSync(base, { recursive: true });
      accessSync(base, constants.W_OK);
      return join(base, `pipewright-test-${process.getuid?.() ?? 0}`);
    } catch {
      // not ours to write (a rootless run's HOME): try the next
    }
  }
  throw new Error('no writable cache directory for the libcni driver');
}

/** Why the driver cannot be built here, or null when it can. */
export function driverUnavailable(): string | null {
  if (!existsSync(LIBCNI)) return `libcni's source is not installed (${LIBCNI}; Debian package golang-github-appc-cni-dev)`;
  const go = ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));
  if (!go) return 'no Go toolchain (Debian package golang-go)';
  return null;
}

let built: Promise<string> | null = null;

/** The driver's path, building it first if this source was never built. */
export function driverPath(): Promise<string> {
  built ??= build();
  return built;
}

async function build(): Promise<string> {
  const why = driverUnavailable();
  if (why) throw new Error(`cannot build the libcni driver: ${why}`);
  const hash = createHash('sha256').update(readFileSync(join(DRIVER_SRC, 'main.go'))).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'cni-driver');
  const out = join(dir, `driver-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const partial = `${out}.${process.pid}.partial`;
  try {
    await run('go', ['build', '-o', partial, '.'], {
      cwd: DRIVER_SRC,
      // GOCACHE/GOTMPDIR beside it: a rootless HOME may not be writable.
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(dir, 'gocache'), PATH: `/usr/lib/go/bin:${process.env.PATH}` },
      timeout: 600_000,
    });
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return out;
}
