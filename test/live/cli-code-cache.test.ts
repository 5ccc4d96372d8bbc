// The installed command keeps V8's compiled code for its bundle in a cache
// file per command (lib/cli/launch.ts). A cache holds what the run that
// wrote it compiled: one written by a run that failed early would leave
// every later attach compiling most of its code again. Such a cache is
// replaced by the next run that succeeds, and only then.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withScene } from '../helpers/scene';
import { finish, MAIN } from '../helpers/cli';
import { spawn } from 'node:child_process';
import type { Netns } from '../../lib';

/** The Node CLI itself (never through an engine, whatever PW_TEST_VIA_ENGINE says), with its own cache home. */
function run(ns: Netns, cacheHome: string, ...args: string[]) {
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, process.execPath, MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CACHE_HOME: cacheHome },
  });
  return finish(child);
}

/** The pipework command's cache: how its writer ended, and its bytes. */
function pipeworkCache(cacheHome: string): { ranOk: boolean | null; bytes: Buffer } | null {
  const dir = join(cacheHome, 'pipewright');
  const files = readdirSync(dir).filter((f) => f.endsWith('-pipework.cache'));
  if (files.length !== 1) return null;
  const bytes = readFileSync(join(dir, files[0]!));
  const lines = bytes.subarray(0, 200).toString('latin1').split('\n');
  return { ranOk: lines[1] === 'ran ok' ? true : lines[1] === 'ran failed' ? false : null, bytes };
}

t.test('a cache written by a failed run is replaced by the next run that succeeds, and only by it', (t) =>
  withScene(t, async (s) => {
    const cacheHome = mkdtempSync(join(tmpdir(), 'pw-code-cache-'));
    t.teardown(() => rmSync(cacheHome, { recursive: true, force: true }));
    const g = await s.guest({ named: true });

    const failed = await run(s.hostNs, cacheHome, 'br0', 'no-such-guest-xyz', '10.0.0.2/24');
    t.not(failed.code, 0, 'an attach to a guest that does not exist fails');
    const thin = pipeworkCache(cacheHome);
    t.ok(thin, 'it wrote the pipework cache (better than none)');
    t.equal(thin?.ranOk, false, 'marked as written by a failed run');

    const again = await run(s.hostNs, cacheHome, 'br0', 'no-such-guest-xyz', '10.0.0.2/24');
    t.not(again.code, 0, 'failing again');
    t.same(pipeworkCache(cacheHome)?.bytes, thin?.bytes, 'another failed run leaves it as it was');

    const ok = await run(s.hostNs, cacheHome, 'br0', g.ns.name!, '10.0.0.2/24');
    t.equal(ok.code, 0, `a real attach succeeds: ${ok.stderr}`);
    const full = pipeworkCache(cacheHome);
    t.equal(full?.ranOk, true, 'the cache is now one a successful run wrote');
    t.ok((full?.bytes.length ?? 0) > (thin?.bytes.length ?? 0), `and holds more compiled code (${thin?.bytes.length} → ${full?.bytes.length} bytes)`);

    const later = await run(s.hostNs, cacheHome, 'br0', 'no-such-guest-xyz', '10.0.0.2/24');
    t.not(later.code, 0, 'a failed run after it');
    t.same(pipeworkCache(cacheHome)?.bytes, full?.bytes, 'leaves the good cache alone');
    const rerun = await run(s.hostNs, cacheHome, 'br0', g.ns.name!, '10.0.0.2/24');
    t.equal(rerun.code, 0, `a re-run of the same attach (nothing to change) succeeds: ${rerun.stderr}`);
    t.same(pipeworkCache(cacheHome)?.bytes, full?.bytes, 'and, the cache being a good one, does not rewrite it');
  }),
);
