// Loaded before every test file (.taprc, node-arg): in the sandbox, each test
// file gets a temporary directory of its own (TMPDIR, which os.tmpdir() and
// mktemp read, and which the processes it starts inherit), and must leave it
// empty. At exit, anything left there fails the file, named, and is then
// removed: a test that forgets its scratch files fails, rather than leaving
// them in the host's /tmp run after run (but nothing is removed from under
// a mount left there). Outside the sandbox nothing changes.
'use strict';
const { mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { basename, join } = require('node:path');

if (process.env.PW_SANDBOXED === '1' && !process.env.PW_TEST_OWN_TMPDIR) {
  const file = basename(process.argv[1] || 'test').replace(/\.test\.[cm]?[jt]s$/, '').slice(0, 24);
  const dir = mkdtempSync(join(tmpdir(), `pw-test-${file}.`));
  // The TypeScript loader's compile cache (v8-compile-cache-lib) stays where
  // it would be, shared by every file: it is a tool's cache, not a leftover.
  process.env.V8_COMPILE_CACHE_CACHE_DIR ??= join(tmpdir(), `v8-compile-cache-${process.getuid?.() ?? 'x'}`, process.versions.v8);
  process.env.TMPDIR = dir;
  process.env.PW_TEST_OWN_TMPDIR = dir;
  process.on('exit', (code) => {
    let left = [];
    try {
      left = readdirSync(dir);
    } catch {
      return; // gone already: nothing left
    }
    if (left.length === 0) return rmdirSync(dir);
    process.stderr.write(`# ${basename(process.argv[1] || 'test')} left in its temporary directory ${dir}: ${left.join(', ')}\n`);
    if (code === 0) process.exitCode = 1;
    // Removed only when nothing is mounted there: a removal would go on into
    // whatever a mount shows (rmSync does not stay on one file system).
    const mounted = mountsUnder(dir);
    if (mounted.length > 0) process.stderr.write(`# not removed: still mounted there: ${mounted.join(', ')}\n`);
    else rmSync(dir, { recursive: true, force: true });
  });
}

/** Mount points at or under dir, as this process's mount namespace has them. */
function mountsUnder(dir) {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => (l.split(' ')[4] || '').replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
      .filter((m) => m === dir || m.startsWith(`${dir}/`));
  } catch {
    return [dir]; // cannot tell: assume the worst, remove nothing
  }
}
