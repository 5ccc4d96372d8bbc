// The pipewright command line, as pipework scripts call it: one process per
// guest, `pipewright br0 -i eth0 GUEST IP/PFX@GW`. Its target is about the
// wall time of one invocation against a bare Node start measured in the
// same run, so the guests' namespaces are made beforehand (untimed: pipework
// also takes an existing guest) and `node -e 0` runs interleaved with the
// invocations.
'use strict';

const { timedRun } = require('../lib/proc');
const { verifyCreated, verifyGone } = require('../lib/verify');
const { MAIN, cliAvailable, makeNamespaces, nodeStart, teardownAttached } = require('../lib/cli');
const W = require('../lib/workload');

const NODE_SAMPLES = 20;

function guestArgs(k) {
  return [MAIN, W.BRIDGE, '-i', 'eth0', W.nsName(k), `${W.cidr(k)}@${W.GATEWAY}`];
}

async function oneGuest(env, n) {
  await makeNamespaces(env, n);

  const perInvocation = [];
  const nodeStarts = [];
  const every = Math.max(1, Math.floor(n / NODE_SAMPLES));
  for (const k of W.range(n)) {
    perInvocation.push(await timedRun(process.execPath, guestArgs(k)));
    if (k % every === 0) nodeStarts.push(await nodeStart());
  }
  verifyCreated(n, env.tmp);
  const teardownMs = await teardownAttached();
  verifyGone();
  return { createMs: perInvocation.reduce((a, b) => a + b, 0), teardownMs, perInvocation, nodeStart: nodeStarts };
}

module.exports = { oneGuestAvailable: cliAvailable, oneGuest };
