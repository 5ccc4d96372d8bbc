// The pipewright command through the native client (build/Release/
// pipewright-fast), one process per guest, as pipework scripts call it:
//  - 'engine': a resident `pipewright engine` answers (started untimed
//    before the guests, stopped untimed before the teardown): no Node start
//    per guest, the target of issue 15 (≤ 5 ms per guest);
//  - 'fallback': no engine runs, so the client execs the Node CLI: what a
//    host without the engine pays (issue 15: no slower than the CLI today).
// `node -e 0` is sampled interleaved, as the Node CLI way does.
'use strict';

const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { Engine } = require('pipewright');
const { timedRun } = require('../lib/proc');
const { verifyCreated, verifyGone } = require('../lib/verify');
const { MAIN, cliAvailable, makeNamespaces, nodeStart, teardownAttached } = require('../lib/cli');
const W = require('../lib/workload');

const FAST = join(__dirname, '..', '..', 'build', 'Release', 'pipewright-fast');
const NODE_SAMPLES = 20;

function fastAvailable() {
  if (!existsSync(FAST)) return `${FAST} does not exist (build it: npx node-gyp rebuild)`;
  return cliAvailable();
}

/** Starts `pipewright engine`; resolves with a stop function once it says it is ready. */
function startEngine() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'engine'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const stop = () =>
      new Promise((done) => {
        child.once('close', () => done());
        child.kill('SIGTERM');
      });
    child.stderr.on('data', (d) => {
      log += d;
      if (/ready on/.test(log)) resolve(stop);
    });
    child.on('close', (code) => reject(new Error(`the engine exited (${code}) before it was ready: ${log.trim()}`)));
  });
}

function guestArgs(k) {
  return [W.BRIDGE, '-i', 'eth0', W.nsName(k), `${W.cidr(k)}@${W.GATEWAY}`];
}

const way = (mode) => async (env, n) => {
  await makeNamespaces(env, n);
  const stop = mode === 'engine' ? await startEngine() : null;
  // Entries earlier ways left (their teardown deletes links, not entries) are checked and dropped by the engine at start: not timed.
  if (stop) {
    const client = await Engine.connect();
    while ((await client.status()).tracked.length > 0) await new Promise((r) => setTimeout(r, 20));
  }
  const perInvocation = [];
  const nodeStarts = [];
  const nodeCli = [];
  const every = Math.max(1, Math.floor(n / NODE_SAMPLES));
  try {
    const runEnv = { ...process.env, ...(mode === 'fallback' ? { PIPEWRIGHT_NO_ENGINE: '1' } : {}) };
    for (const k of W.range(n)) {
      // Without an engine, guests alternate between the client and the Node CLI run directly (cli-one's way), so
      // each pair shares the machine's load of its moment: the verdict is the median of the pairs' ratios.
      if (mode === 'fallback' && k % 2 === 1) nodeCli.push(await timedRun(process.execPath, [MAIN, ...guestArgs(k)]));
      else perInvocation.push(await timedRun(FAST, guestArgs(k), { env: runEnv }));
      if (k % every === 0) nodeStarts.push(await nodeStart());
    }
  } finally {
    if (stop) await stop();
  }
  verifyCreated(n, env.tmp);
  const teardownMs = await teardownAttached();
  verifyGone();
  return { createMs: [...perInvocation, ...nodeCli].reduce((a, b) => a + b, 0), teardownMs, perInvocation, nodeCliPaired: nodeCli, nodeStart: nodeStarts };
};

module.exports = { fastAvailable, engineWay: way('engine'), fallbackWay: way('fallback') };
