// The pipewright command through the native client (build/Release/
// pipewright-fast), one process per guest, as pipework scripts call it:
//  - 'engine': a resident `pipewright engine` answers (started untimed
//    before the guests, stopped untimed before the teardown): no Node start
//    per guest, the target of issue 15 (≤ 5 ms per guest). The guests are
//    attached from one bash script, each invocation timed there
//    ($EPOCHREALTIME, a builtin: no process of its own), because that is how
//    pipework's command sequence is timed (a shell script) and how scripts
//    call it; Node's spawn() adds ~0.8 ms per process on this kind of
//    machine, which is the bench's, not pipewright's. A resident engine has
//    served commands before: it first attaches and detaches every guest once
//    (timed too, reported as the cold pass), then the timed pass runs.
//    `/bin/true` is timed the same way, interleaved: what starting any
//    process costs here.
//  - 'fallback': no engine runs, so the client execs the Node CLI: what a
//    host without the engine pays (issue 15: no slower than the CLI today).
// `node -e 0` is sampled interleaved, as the Node CLI way does.
'use strict';

const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { Engine } = require('pipewright');
const { timedRun } = require('../lib/proc');
const { timeInBash } = require('../lib/bash-timing');
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

/**
 * `words(k)` for every guest from one bash script (bench/lib/bash-timing.js),
 * with `/bin/true` timed the same way after every `every`-th guest; resolves
 * with both lists of ms.
 */
async function timedFromShell(env, name, n, words, every) {
  const runs = [];
  for (const k of W.range(n)) {
    runs.push({ name: 'run', argv: words(k) });
    if (k % every === 0) runs.push({ name: 'true', argv: ['/bin/true'] });
  }
  const ms = await timeInBash(env.tmp, name, runs);
  return { run: ms.run ?? [], true: ms.true ?? [] };
}

const engineWay = async (env, n) => {
  await makeNamespaces(env, n);
  const stop = await startEngine();
  // Entries earlier ways left (their teardown deletes links, not entries) are checked and dropped by the engine at start: not timed.
  const client = await Engine.connect();
  while ((await client.status()).tracked.length > 0) await new Promise((r) => setTimeout(r, 20));
  const every = Math.max(1, Math.floor(n / NODE_SAMPLES));
  let cold;
  let warm;
  try {
    const served = async () => (await client.status()).served;
    const before = await served();
    cold = await timedFromShell(env, 'engine-cold', n, (k) => [FAST, ...guestArgs(k)], every);
    await timedFromShell(env, 'engine-detach', n, (k) => [FAST, 'detach', W.nsName(k), '-i', 'eth0'], every);
    warm = await timedFromShell(env, 'engine-warm', n, (k) => [FAST, ...guestArgs(k)], every);
    // A command the client ran itself (a refusal, a timeout) would time a Node start instead: none may have.
    const count = (await served()) - before;
    if (count !== 3 * n) throw new Error(`the engine served ${count} of the ${3 * n} commands`);
  } finally {
    await stop();
  }
  verifyCreated(n, env.tmp);
  const teardownMs = await teardownAttached();
  verifyGone();
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return { createMs: sum(warm.run), teardownMs, perInvocation: warm.run, coldPerInvocation: cold.run, processStart: [...cold.true, ...warm.true] };
};

const fallbackWay = async (env, n) => {
  await makeNamespaces(env, n);
  const perInvocation = [];
  const nodeStarts = [];
  const nodeCli = [];
  const every = Math.max(1, Math.floor(n / NODE_SAMPLES));
  const runEnv = { ...process.env, PIPEWRIGHT_NO_ENGINE: '1' };
  for (const k of W.range(n)) {
    // Guests alternate between the client and the Node CLI run directly (cli-one's way), so each pair shares the
    // machine's load of its moment: the verdict is the median of the pairs' ratios.
    if (k % 2 === 1) nodeCli.push(await timedRun(process.execPath, [MAIN, ...guestArgs(k)]));
    else perInvocation.push(await timedRun(FAST, guestArgs(k), { env: runEnv }));
    if (k % every === 0) nodeStarts.push(await nodeStart());
  }
  verifyCreated(n, env.tmp);
  const teardownMs = await teardownAttached();
  verifyGone();
  return { createMs: [...perInvocation, ...nodeCli].reduce((a, b) => a + b, 0), teardownMs, perInvocation, nodeCliPaired: nodeCli, nodeStart: nodeStarts };
};

module.exports = { fastAvailable, engineWay, fallbackWay };
