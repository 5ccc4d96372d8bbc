// The pipewright command line, as pipework scripts call it: one process per
// guest, `pipewright br0 -i eth0 GUEST IP/PFX@GW`. Its target is about the
// wall time of one invocation against a bare Node start measured in the
// same run, so the guests' namespaces are made beforehand (untimed: pipework
// also takes an existing guest) and `node -e 0` runs interleaved with the
// invocations.
'use strict';

const { execFileSync } = require('node:child_process');
const { existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { timedRun } = require('../lib/proc');
const { verifyCreated, verifyGone } = require('../lib/verify');
const W = require('../lib/workload');

const MAIN = join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'main.js');
// attach()'s default link group for host ends (PIPEWRIGHT_GROUP, "pw").
const ATTACH_GROUP = 0x7077;
const NODE_SAMPLES = 20;

let helpText;
function help() {
  if (helpText === undefined) {
    try {
      helpText = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      helpText = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
  }
  return helpText;
}

/** null when usable, else why not. */
function oneGuestAvailable() {
  if (!existsSync(MAIN)) return 'dist/lib/cli/main.js does not exist (build the CLI first)';
  if (!/HOSTIF\b.*-i GUESTIF.*GUEST IP\/PREFIX/.test(help())) return "pipewright --help does not show pipework's grammar";
  return null;
}

function batchAvailable() {
  const why = oneGuestAvailable();
  if (why) return why;
  if (!/^\s+batch\b/m.test(help())) return 'not yet available: `pipewright --help` lists no batch command';
  return 'the batch command exists, but this bench does not drive it yet (its input format was still being designed)';
}

function guestArgs(k) {
  return [MAIN, W.BRIDGE, '-i', 'eth0', W.nsName(k), `${W.cidr(k)}@${W.GATEWAY}`];
}

async function oneGuest(env, n) {
  const names = join(env.tmp, 'cli-netns.batch');
  writeFileSync(names, `${W.range(n).map((k) => `netns add ${W.nsName(k)}`).join('\n')}\n`);
  execFileSync('ip', ['-batch', names]);

  const perInvocation = [];
  const nodeStart = [];
  const every = Math.max(1, Math.floor(n / NODE_SAMPLES));
  for (const k of W.range(n)) {
    perInvocation.push(await timedRun(process.execPath, guestArgs(k)));
    if (k % every === 0) nodeStart.push(await timedRun(process.execPath, ['-e', '0']));
  }
  verifyCreated(n, env.tmp);
  const teardownMs = await timedRun('sh', ['-c', `ip link delete group ${ATTACH_GROUP} && ip -all netns delete`]);
  verifyGone();
  return { createMs: perInvocation.reduce((a, b) => a + b, 0), teardownMs, perInvocation, nodeStart };
}

module.exports = { oneGuestAvailable, batchAvailable, oneGuest, MAIN };
