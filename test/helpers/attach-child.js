// One attach through the built library (dist/), for the crash tests. It
// loads the library and starts the addon's threads first and says "ready";
// the attach starts when "go FROM MS" arrives on stdin. It is killed at a
// step boundary (PIPEWRIGHT_FAILPOINT with PIPEWRIGHT_FAILPOINT_ACTION=kill in
// its environment, which this test program turns into the library's failpoint),
// or, with MS >= 0, kills itself (SIGKILL) MS ms after the attach started
// (FROM "start") or after its journal entry appeared (FROM "journal", seen
// through inotify on the journal directory): its own timer, so the moment
// is measured from the attach itself, not from when a loaded machine got
// round to running this process. Prints the outcome as one JSON line.
'use strict';
const { watch } = require('node:fs');
const { attach, Netns } = require('../../dist/lib');
const { journalPath } = require('../../dist/lib/ops/ownership');
const { failAt, setFailpoint } = require('../../dist/lib/ops/transaction');

if (process.env.PIPEWRIGHT_FAILPOINT) setFailpoint(failAt(process.env.PIPEWRIGHT_FAILPOINT, process.env.PIPEWRIGHT_FAILPOINT_ACTION === 'kill' ? 'kill' : 'fail'));

const spec = JSON.parse(process.argv[2]);
(async () => {
  await (await Netns.current()).close();
  process.stdout.write('ready\n');
  const line = await new Promise((resolve) => process.stdin.once('data', (b) => resolve(String(b))));
  const [, from, ms] = /^go (start|journal) (-?\d+)/.exec(line) ?? [];
  const killAfterMs = Number(ms ?? -1);
  const kill = () => setTimeout(() => process.kill(process.pid, 'SIGKILL'), killAfterMs);
  if (killAfterMs >= 0 && from === 'journal') {
    const w = watch(journalPath(), (event, name) => {
      if (event === 'rename' && name && !name.startsWith('.')) {
        w.close();
        kill();
      }
    });
  }
  const started = performance.now();
  if (killAfterMs >= 0 && from === 'start') kill();
  try {
    const r = await attach(spec);
    process.stdout.write(`${JSON.stringify({ status: r.status, ms: performance.now() - started })}\n`);
    process.exit(0);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: e.code, message: e.message })}\n`);
    process.exit(1);
  }
})();
