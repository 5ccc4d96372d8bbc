// While a few of its requests are on their way, the event loop polls for
// their answers instead of sleeping until each answer wakes it
// (native/dispatch.cc): on a VM every such sleep halts a virtual CPU, and
// the wake-up costs tens of microseconds per answer. What must hold: answers
// are picked up by the polling, results are those of any call, the loop goes
// back to sleep once nothing is on its way, and a request that waits long (a
// lock someone else holds) lets it sleep too, and still gets its answer.
// Everything waits on states (the addon's counters, /proc/locks), never on time.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { setImmediate as turn } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withScene } from '../helpers/scene';
import { addon } from '../../lib/core/native';
import { lockStateFilePrunable, lockStateFilePrunableAndRead } from '../../lib/core/state-files';
import { lockId, locksOn } from '../helpers/proc-locks';

// The longest poll the addon allows (5 ms): answers come within it even on a
// busy machine. Read at the first request, which comes after this line.
process.env.PIPEWRIGHT_POLL_US = '5000';
// No waiting inside the calls (native/executor.h, SubmitAndWait), which would take answers before polling could.
process.env.PIPEWRIGHT_ANSWER_WAIT_US = '0';
const root = mkdtempSync(join(process.env.PW_STATE_DIR ?? tmpdir(), 'loop-poll-test-'));
process.env.PW_STATE_DIR = root;
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const stats = () => addon().stats();

/** Turns the loop until it stops polling (a few turns: it stops at the first with nothing on its way). */
async function untilAsleep(): Promise<number> {
  for (let turns = 1; turns <= 10_000; turns++) {
    await turn();
    if (!stats().polling) return turns;
  }
  throw new Error('the loop went on polling with nothing on its way');
}

t.test('a chain of awaited calls is answered through polling, with the same results; then the loop sleeps again', (t) =>
  withScene(t, async ({ host }) => {
    t.equal(stats().pollUs, 5000, 'PIPEWRIGHT_POLL_US is in force');
    const before = stats();
    const lo = await host.link.get('lo');
    for (let i = 0; i < 200; i++) {
      const again = await host.link.get(lo.index);
      if (again.name !== 'lo') {
        t.fail(`call ${i}: got ${again.name}`);
        break;
      }
    }
    await t.rejects(host.link.get('nosuch0'), { code: 'ERR_PW_LINK_NOT_FOUND' }, 'a failure is as without polling');
    const after = stats();
    t.ok(after.settledByPoll - before.settledByPoll > 0, `answers were taken by polling (${after.settledByPoll - before.settledByPoll} of 202, in ${after.polls - before.polls} stretch(es) of polling)`);
    const turns = await untilAsleep();
    t.pass(`asleep again after ${turns} turn(s) of the loop`);
  }),
);

t.test('a request that waits for a lock held elsewhere lets the loop sleep, and is answered once the lock is free', async (t) => {
  await (await lockStateFilePrunable('locks-p', 'k')).release(); // the directory and the file, as pipewright makes them
  const path = join(root, 'locks-p', 'k');
  const holder = spawn('flock', ['-x', path, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => void holder.kill());
  const id = lockId(path);
  const lines = () => locksOn(id);
  while (!lines().some((l) => !l.includes('->'))) await new Promise((r) => setTimeout(r, 10));
  let answered = false;
  const taking = lockStateFilePrunableAndRead('locks-p', 'k', 'recs-p', 'x').then((r) => ((answered = true), r));
  t.ok(stats().polling, 'polling while the request is on its way');
  // It waits in the kernel (seen in /proc/locks); the loop gives up polling and sleeps.
  while (!lines().some((l) => l.includes('->'))) await new Promise((r) => setTimeout(r, 10));
  await untilAsleep();
  t.notOk(answered, 'asleep while the request is still on its way');
  holder.stdin!.end(); // cat ends, flock lets go
  const { lock } = await taking;
  t.ok(answered, 'answered once the lock was free');
  await lock.releaseAndRemove();
  await untilAsleep();
});

t.test('a process whose requests are done exits: polling never keeps the loop alive', async (t) => {
  const script = `
    const { Handle } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'lib', 'core', 'handle.js'))});
    (async () => {
      const h = await Handle.open();
      for (let i = 0; i < 50; i++) await h.link.get('lo');
      await h.close();
      console.log('done');
    })();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIPEWRIGHT_POLL_US: '5000' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  t.equal(code, 0);
  t.equal(out, 'done\n');
});
