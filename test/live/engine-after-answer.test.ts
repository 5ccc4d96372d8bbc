// Work a command leaves going past its answer (Session.afterAnswer: the CNI
// ADD's announcement): the client has its output and exit code while the
// work is still held back; the work's lines are logged once it is done; a
// serial command after it, and the engine's stop, wait for it.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, EngineServer, type CliRequest, type Session } from '../../lib/ops/engine';
import { until } from '../helpers/engine';

/** A socket path in a directory of the test's own, removed at its end. */
function socketIn(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'pw-after-answer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'engine.sock');
}

/** A promise held back until open() is called. */
function gated(): { gate: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return { gate, open };
}

t.test('the answer goes out before the work left after it; its lines are logged, and the next serial command and stop() wait for it', async (t) => {
  const socket = socketIn(t);
  const { gate, open } = gated();
  let workDone = false;
  const events: string[] = [];
  const server = await EngineServer.start({
    socketPath: socket,
    refuse: () => '',
    // 'later' runs serially, as a command line does; 'leave' beside, as a CNI call does.
    beside: (req: CliRequest) => req.argv[0] === 'leave',
    run: async (req: CliRequest, session: Session) => {
      events.push(`run ${req.argv[0]}`);
      if (req.argv[0] === 'leave') {
        session.afterAnswer(gate.then(() => ((workDone = true), ['the work is done'])));
        session.afterAnswer(Promise.reject(new Error('it broke')));
      }
      session.stdout(`${req.argv[0]} answered\n`);
      return req.argv[0] === 'leave' ? 3 : 0;
    },
    status: () => ({}),
    log: (line) => events.push(`log ${line}`),
  });
  let stopped = false;
  try {
    const engine = await Engine.connect({ socket });
    const reply = await engine.run(['leave'], { env: {} });
    t.same([reply.exitCode, reply.stdout], [3, 'leave answered\n'], 'the client has the output and the exit code');
    t.equal(workDone, false, 'while the work left after the answer is still held back');
    t.notOk(events.some((e) => e.startsWith('log ')), 'nothing logged yet');
    const stop = server.stop().then(() => (stopped = true));
    // Once the engine refuses connections, stop() has gone on to wait for what is at work.
    await until('the engine to stop listening', () => Engine.connect({ socket }).then(() => undefined, () => true));
    t.equal(stopped, false, 'stop() waits for the work');
    open();
    await stop;
    t.equal(workDone, true, 'the work finished before stop() returned');
    t.same(
      events.filter((e) => e.startsWith('log after the answer')),
      [`log after the answer to pid ${process.pid}: the work is done`, `log after the answer to pid ${process.pid}: work left after the answer failed: it broke`],
      'its lines are logged, and a failure of it is logged, not thrown',
    );
  } finally {
    open();
    if (!stopped) await server.stop();
  }
});

t.test('a serial command after a job that left work waits for that work', async (t) => {
  const socket = socketIn(t);
  const { gate, open } = gated();
  const order: string[] = [];
  const server = await EngineServer.start({
    socketPath: socket,
    refuse: () => '',
    run: async (req: CliRequest, session: Session) => {
      order.push(`run ${req.argv[0]}`);
      if (req.argv[0] === 'first') session.afterAnswer(gate.then(() => (order.push('work of first done'), [])));
      return 0;
    },
    status: () => ({}),
    log: () => undefined,
  });
  try {
    const engine = await Engine.connect({ socket });
    t.equal((await engine.run(['first'], { env: {} })).exitCode, 0, 'the first is answered');
    const second = engine.run(['second'], { env: {} });
    // The second is queued behind the first's slot, which its work holds.
    await until('the second to be queued', async () => (server.counts.queued === 1 ? true : undefined));
    t.same(order, ['run first'], 'the second has not run while the work is held back');
    open();
    t.equal((await second).exitCode, 0, 'the second is answered');
    t.same(order, ['run first', 'work of first done', 'run second'], 'it ran after the work');
  } finally {
    open();
    await server.stop();
  }
});
