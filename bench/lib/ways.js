// Every way of doing the workload, as the driver runs them. A way's run
// creates N guests (timed), is verified (untimed), tears down (timed) and is
// verified again; it resolves with {createMs, teardownMs, ...} or throws.
'use strict';

const { mkdtempSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { protocol, timedRun } = require('./proc');
const { verifyCreated, verifyGone } = require('./verify');
const ip = require('../iproute2/scripts');
const cli = require('../ways/cli');
const cliBatch = require('../ways/cli-batch');
const cliEngine = require('../ways/cli-engine');

const LIBRARY = join(__dirname, '..', 'ways', 'library.js');

async function viaProtocol(env, n, cmd, args) {
  const r = await protocol(cmd, args, () => verifyCreated(n, env.tmp));
  verifyGone();
  return r;
}

async function viaScripts(env, n, generate) {
  const dir = mkdtempSync(join(env.tmp, 'ip-'));
  try {
    const { setup, create, teardown } = generate(dir, n);
    // A way with a setup (pipework: the guests' namespaces) reports it apart, and in createMs with the rest.
    const setupMs = setup ? await timedRun('sh', [setup]) : 0;
    const ownMs = await timedRun('sh', [create]);
    verifyCreated(n, env.tmp);
    const teardownMs = await timedRun('sh', [teardown]);
    verifyGone();
    return { createMs: setupMs + ownMs, ...(setup ? { setupMs, withoutSetupMs: ownMs } : {}), teardownMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const library = (mode, teardown) => (env, n) =>
  viaProtocol(env, n, process.execPath, [LIBRARY, '--n', String(n), '--mode', mode, '--teardown', teardown]);

/**
 * id: stable key; label/teardown: for the table; maxN: the largest N the
 * way runs at (subprocess-per-guest ways at N = 1,000 would take minutes).
 */
function allWays(opts) {
  return [
    { id: 'c', label: 'C reference, raw netlink', teardown: 'group delete', run: (env, n) => viaProtocol(env, n, env.cBinary, [String(n), '4242', 'group']) },
    { id: 'c-each', label: 'C reference, raw netlink', teardown: 'one link at a time', run: (env, n) => viaProtocol(env, n, env.cBinary, [String(n), '4242', 'each']) },
    { id: 'lib-seq', label: 'pipewright library, typical calls', teardown: 'bulk (delGroup)', run: library('seq', 'group') },
    { id: 'lib-batch', label: 'pipewright library, runBatch', teardown: 'bulk (delGroup)', run: library('batch', 'group') },
    { id: 'lib-conc', label: 'pipewright library, concurrent', teardown: 'bulk (delGroup)', run: library('concurrent', 'group') },
    { id: 'lib-each', label: 'pipewright library, typical calls', teardown: 'one link at a time', run: library('seq', 'each') },
    { id: 'ip-batch', label: 'ip -batch', teardown: 'ip -batch (group + names)', run: (env, n) => viaScripts(env, n, ip.ipBatch) },
    { id: 'ip-step', label: 'ip, one process per step', teardown: 'ip (group + names)', run: (env, n) => viaScripts(env, n, ip.ipPerStep) },
    { id: 'pipework', label: "pipework's command sequence", teardown: 'namespaces first', run: (env, n) => viaScripts(env, n, ip.pipework) },
    { id: 'cli-one', label: 'pipewright CLI, one guest per invocation', teardown: 'ip (group + names)', maxN: opts.cliMaxN, available: cli.oneGuestAvailable, run: cli.oneGuest },
    // The native client (issue 15): with a resident engine answering, and with none (it execs the Node CLI).
    { id: 'cli-engine', label: 'pipewright-fast + engine, one guest per invocation', teardown: 'ip (group + names)', maxN: opts.cliMaxN, available: cliEngine.fastAvailable, run: cliEngine.engineWay },
    { id: 'cli-fallback', label: 'pipewright-fast, no engine (Node CLI), one guest per invocation', teardown: 'ip (group + names)', maxN: opts.cliMaxN, available: cliEngine.fastAvailable, run: cliEngine.fallbackWay },
    // One invocation for all N guests; create = `ip -batch` netns add + the
    // invocation (bench/ways/cli-batch.js says why). Stops at N = 200 like
    // the CLI above: the target is at 200.
    { id: 'batch-lines', label: 'pipewright CLI, batch of pipework lines', teardown: 'ip (group + names)', maxN: 200, available: cliBatch.batchAvailable, run: cliBatch.batchWay('lines', opts.batchConcurrency) },
    { id: 'batch-json', label: 'pipewright CLI, batch JSON plan', teardown: 'ip (group + names)', maxN: 200, available: cliBatch.batchAvailable, run: cliBatch.batchWay('json', opts.batchConcurrency) },
  ];
}

module.exports = { allWays };
