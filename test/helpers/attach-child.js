// One attach through the built library (dist/), for the crash tests. It
// loads the library and starts the addon's threads first and says "ready";
// the attach starts when a line arrives on stdin. The parent kills it at a
// step boundary (PIPEWRIGHT_FAILPOINT with PIPEWRIGHT_FAILPOINT_ACTION=kill)
// or at a random moment after "go". Prints the outcome as one JSON line.
'use strict';
const { attach, Netns } = require('../../dist/lib');

const spec = JSON.parse(process.argv[2]);
(async () => {
  await (await Netns.current()).close();
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const started = performance.now();
  try {
    const r = await attach(spec);
    process.stdout.write(`${JSON.stringify({ status: r.status, ms: performance.now() - started })}\n`);
    process.exit(0);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: e.code, message: e.message })}\n`);
    process.exit(1);
  }
})();
