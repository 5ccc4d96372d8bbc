// Builds the libcni driver (main.go here) offline against Debian's libcni
// source (GOPATH mode: the module proxy is not reachable) into a cache
// directory outside the source tree, keyed by main.go's hash so it is
// rebuilt only when the source changed. Two processes building at once each
// write a private file and rename it into place. Used by the tests
// (test/helpers/cni-driver.ts) and the benchmark (bench/cni.js).
'use strict';

const { execFile } = require('node:child_process');
const { createHash } = require('node:crypto');
const { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync } = require('node:fs');
const { homedir, tmpdir } = require('node:os');
const { join } = require('node:path');
const { promisify } = require('node:util');

const run = promisify(execFile);
const SRC = __dirname;
const GOPATH = '/usr/share/gocode';
const LIBCNI = join(GOPATH, 'src/github.com/containernetworking/cni/libcni');
const GO = ['/usr/bin/go', '/usr/lib/go/bin/go'];

/** Where built things are kept between runs: PW_TEST_CACHE, else the XDG cache, ~/.cache, the temp dir. */
function cacheRoot() {
  if (process.env.PW_TEST_CACHE) return process.env.PW_TEST_CACHE;
  for (const base of [process.env.XDG_CACHE_HOME, join(homedir(), '.cache'), tmpdir()]) {
    if (!base) continue;
    try {
      mkdirSync(base, { recursive: true });
      accessSync(base, constants.W_OK);
      return join(base, `pipewright-test-${process.getuid ? process.getuid() : 0}`);
    } catch {
      // not ours to write (a rootless run's HOME): try the next
    }
  }
  throw new Error('no writable cache directory for the libcni driver');
}

/** Why the driver cannot be built here, or null when it can. */
function driverUnavailable() {
  if (!existsSync(LIBCNI)) return `libcni's source is not installed (${LIBCNI}; Debian package golang-github-appc-cni-dev)`;
  if (!GO.some((p) => existsSync(p))) return 'no Go toolchain (Debian package golang-go)';
  return null;
}

/** The driver's path, built first when this source never was. */
async function buildDriver() {
  const why = driverUnavailable();
  if (why) throw new Error(`cannot build the libcni driver: ${why}`);
  const hash = createHash('sha256').update(readFileSync(join(SRC, 'main.go'))).digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'cni-driver');
  const out = join(dir, `driver-${hash}`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const partial = `${out}.${process.pid}.partial`;
  try {
    await run(GO.find((p) => existsSync(p)), ['build', '-o', partial, '.'], {
      cwd: SRC,
      // GOCACHE beside it: a rootless run's HOME may not be writable.
      env: { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOCACHE: join(dir, 'gocache') },
      timeout: 600_000,
    });
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  return out;
}

module.exports = { buildDriver, driverUnavailable };
