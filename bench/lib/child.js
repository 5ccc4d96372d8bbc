// The protocol between the driver and a way's process: the way creates the
// guests and prints {"phase":"created",...} as one JSON line, waits for a
// line on stdin (the driver verifies meanwhile, untimed), tears down, prints
// {"phase":"gone",...} and exits. The C reference speaks it too.
'use strict';

const { performance } = require('node:perf_hooks');

function report(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

/** Resolves at the driver's go-ahead (one line on stdin). */
function waitForGo() {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (chunk) => {
      buf += chunk;
      if (!buf.includes('\n')) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve();
    };
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', onData);
    process.stdin.once('end', () => reject(new Error('the driver closed stdin before the go-ahead')));
  });
}

/** Milliseconds taken by fn (awaited). */
async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Parses --key value pairs. */
function args(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

module.exports = { report, waitForGo, timed, args };
