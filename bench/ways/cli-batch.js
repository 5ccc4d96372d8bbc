// The pipewright command line, many guests in one invocation:
// `pipewright batch FILE --create-netns --concurrency C`, FILE holding either one
// pipework-style line per guest (`br0 -i eth0 gK 10.0.x.y/16@10.0.0.1`) or
// the same guests as a JSON array of attach specs (the library's field
// names: hostIf, guest, guestIf, address, gateway).
//
// How it is timed, and why. Issue 6 compares the batch with the C reference
// + one Node start. The C reference's create makes the named namespaces too,
// so the batch runs with --create-netns: the one invocation makes every
// guest's named namespace (as `ip netns add` would: unshare + bind mount
// under /run/netns) and attaches it. createMs = batchMs, the invocation's
// wall clock with Node's start included; netnsMs stays 0 (no separate step).
// Writing FILE is not timed: a caller has its plan before it runs anything.
// `node -e 0` is sampled in the same run, just before the timed part, for
// the "+ one Node start" of the comparison.
'use strict';

const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { timedRun } = require('../lib/proc');
const { verifyCreated, verifyGone } = require('../lib/verify');
const { MAIN, help, cliAvailable, nodeStart, teardownAttached } = require('../lib/cli');
const W = require('../lib/workload');

const NODE_SAMPLES = 5;
// Attaches in flight: all of them. Swept in the sandbox at N = 200 (this
// way, `--batch-concurrency C`, two rounds of 3 runs, median invocation ms;
// load average 3-4 from other work): 1: 1142, 758; 8: 435, 438;
// 16 (the command's default): 417, 534; 32: 502, 415; 64: 384, 487;
// 200: 379, 358. Fewer in flight also means more firewall checks: attaches
// share the bridge's `iptables -S` only while one is in flight, so a batch
// ran it 200 times at 1, 13 at 16, 2 at 200. `--batch-concurrency`
// overrides this; "default" omits the flag (the command's own default).
const CONCURRENCY = 200;

/** The plan file for g1..gN; JSON guests are {name}, the explicit form. */
function writePlan(env, n, format) {
  const file = join(env.tmp, `cli-batch.${format === 'json' ? 'json' : 'txt'}`);
  if (format === 'json') {
    const specs = W.range(n).map((k) => ({ hostIf: W.BRIDGE, guest: { name: W.nsName(k) }, guestIf: 'eth0', address: W.cidr(k), gateway: W.GATEWAY }));
    writeFileSync(file, `${JSON.stringify(specs)}\n`);
  } else {
    writeFileSync(file, W.range(n).map((k) => `${W.BRIDGE} -i eth0 ${W.nsName(k)} ${W.cidr(k)}@${W.GATEWAY}\n`).join(''));
  }
  return file;
}

/** null when the built CLI has the batch command, else why not. */
function batchAvailable() {
  const why = cliAvailable();
  if (why) return why;
  // The general help lists commands only; a command's own help has its usage.
  if (!/pipewright batch FILE.*--create-netns/.test(help('batch'))) return 'not yet available: `pipewright batch --help` shows no --create-netns';
  return null;
}

/** The way's run function for one plan format ('lines' | 'json'). */
function batchWay(format, concurrency = CONCURRENCY) {
  const flags = concurrency === 'default' ? [] : ['--concurrency', String(concurrency)];
  return async (env, n) => {
    const plan = writePlan(env, n, format);
    const nodeStarts = [];
    for (let i = 0; i < NODE_SAMPLES; i++) nodeStarts.push(await nodeStart());
    const netnsMs = 0; // made by the invocation itself (--create-netns)
    // Exits non-zero if any guest failed (each is rolled back); verified below either way.
    const batchMs = await timedRun(process.execPath, [MAIN, 'batch', plan, '--create-netns', ...flags]);
    verifyCreated(n, env.tmp);
    const teardownMs = await teardownAttached();
    verifyGone();
    return { createMs: netnsMs + batchMs, netnsMs, batchMs, teardownMs, nodeStart: nodeStarts, concurrency: String(concurrency) };
  };
}

module.exports = { batchAvailable, batchWay, CONCURRENCY };
