// Watchers let the process exit: waitFor() closes its subscription when it
// settles (matched or timed out) unless asked to keep it open, and closing a
// Handle closes every watcher it opened (issue 12, item 3). Each program runs
// in a child process that must exit on its own.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { withScene, heldFds } from '../helpers/scene';
import type { Netns } from '../../lib';

const LIB = join(__dirname, '..', '..', 'dist', 'lib');

/**
 * Runs `body` (the inside of an async function with `Handle` in scope) in a
 * child process inside `ns`; resolves with how it ended, or 'still running'
 * if it has not exited by the deadline (it is then killed).
 */
function runChild(ns: Netns, body: string, deadlineMs = 20_000): Promise<string> {
  const program = `const { Handle } = require(${JSON.stringify(LIB)});\n(async () => {\n${body}\n})().then(() => console.log('done'), (e) => { console.error(e); process.exitCode = 9; });`;
  const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, process.execPath, '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(`still running after ${deadlineMs} ms (output: ${out.trim()})`);
    }, deadlineMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 && out.trim() === 'done' ? 'exited' : `exit ${code ?? signal}: ${out.trim()}`);
    });
  });
}

t.test('a process that used a watcher exits on its own', (t) =>
  withScene(t, async (s) => {
    t.equal(
      await runChild(s.hostNs, `const h = await Handle.open();
        await h.watch(['link']).waitFor(() => false, 300).catch(() => {});
        await h.close();`),
      'exited',
      'waitFor timed out (the issue\'s program)',
    );
    t.equal(
      await runChild(s.hostNs, `const h = await Handle.open();
        const w = h.watch(['link']);
        await w.ready;
        const seen = w.waitFor((ev) => ev.kind === 'link' && ev.link.name === 'wx0', 10000);
        await h.link.add({ kind: 'bridge', name: 'wx0' });
        await seen;
        await h.link.del('wx0');
        await h.close();`),
      'exited',
      'waitFor matched',
    );
    t.equal(
      await runChild(s.hostNs, `const h = await Handle.open();
        const w = h.watch(['link', 'addr']);
        await w.ready;
        h.watch(['route']);
        await h.close();`),
      'exited',
      'Handle.close() closed the watchers it opened, ready or not',
    );
    t.equal(
      await runChild(s.hostNs, `const h = await Handle.open();
        const w = h.watch(['link']);
        await w.ready;
        await w.waitFor(() => false, 100, { keepOpen: true }).catch(() => {});
        const again = await w.waitFor(() => false, 100, { keepOpen: true }).catch((e) => e.code);
        if (again !== 'ERR_PW_TIMEOUT') throw new Error('kept open: a second wait times out again, got ' + again);
        await w.close();
        await h.close();`),
      'exited',
      'keepOpen leaves it to the caller, who closes it',
    );
  }),
);

t.test('in-process: after waitFor settles, its subscription socket is closed', (t) =>
  withScene(t, async (s) => {
    const before = heldFds().size;
    const w = s.host.watch(['link']);
    await w.ready;
    t.equal(heldFds().size, before + 1, 'the subscription holds one socket');
    await w.waitFor(() => false, 50).catch(() => undefined);
    t.equal(heldFds().size, before, 'a timed-out waitFor closed it');
    t.same(await w.next(), { value: undefined, done: true }, 'and the watcher is done');

    const w2 = s.host.watch(['link']);
    await w2.ready;
    const seen = w2.waitFor((ev) => ev.kind === 'link' && ev.link.name === 'wy0', 10_000);
    await s.host.link.add({ kind: 'bridge', name: 'wy0' });
    await seen;
    t.equal(heldFds().size, before, 'a matched waitFor closed it');
  }),
);
