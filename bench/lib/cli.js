// What the CLI ways (bench/ways/cli.js, bench/ways/cli-batch.js) share:
// where the command is and whether it is built, the guests' named namespaces
// made by one `ip -batch` (pipewright's attach takes existing guests, as
// pipework does: it never creates a named namespace), `node -e 0` as the
// yardstick for Node's own start, and the teardown of what attach() made.
'use strict';

const { execFileSync } = require('node:child_process');
const { existsSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { timedRun } = require('./proc');
const W = require('./workload');

// The command as installed: package.json's "bin", which runs its command's
// bundle of dist/cli/ with its code cache (`npm run build:ts` builds both).
// Its first run after a build writes the cache: one sample among the runs.
const MAIN = join(__dirname, '..', '..', require('../../package.json').bin.pipewright);
// attach()'s default link group for host ends (PIPEWRIGHT_GROUP, "pw"):
// the CLI ways' host ends are in it, not in the workload's GROUP.
const ATTACH_GROUP = 0x7077;

const helpTexts = new Map();
/** `pipewright --help`, or `pipewright COMMAND --help`, read once each: what the built CLI offers. */
function help(command) {
  if (!helpTexts.has(command)) {
    let text;
    try {
      text = execFileSync(process.execPath, [MAIN, ...(command ? [command] : []), '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      text = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    helpTexts.set(command, text);
  }
  return helpTexts.get(command);
}

/** null when the CLI is built and speaks pipework's grammar, else why not. */
function cliAvailable() {
  if (!existsSync(MAIN)) return `${MAIN} does not exist (build the CLI first: npm run build:ts)`;
  // A bundle older than the compiled files (tsc ran alone) is not used by the
  // command, which then runs the unbundled modules: bundle again, so the
  // command timed is the one `npm run build:ts` installs.
  const bundle = join(__dirname, '..', '..', 'dist', 'cli', 'pipewright.js');
  const bin = join(__dirname, '..', '..', 'dist', 'lib', 'cli', 'bin.js');
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(bin).mtimeMs) execFileSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'bundle-cli.js')]);
  if (!/HOSTIF\b.*-i GUESTIF.*GUEST IP\/PREFIX/.test(help())) return "pipewright --help does not show pipework's grammar";
  return null;
}

/** Writes the `ip -batch` file that makes g1..gN; returns its path. */
function namespacesBatch(env, n) {
  const file = join(env.tmp, 'cli-netns.batch');
  writeFileSync(file, `${W.range(n).map((k) => `netns add ${W.nsName(k)}`).join('\n')}\n`);
  return file;
}

/** Makes g1..gN with one `ip -batch` process; resolves with its wall time in ms. */
function makeNamespaces(env, n) {
  return timedRun('ip', ['-batch', namespacesBatch(env, n)]);
}

/** Wall time of `node -e 0`: what one Node start costs on this machine right now. */
function nodeStart() {
  return timedRun(process.execPath, ['-e', '0']);
}

/**
 * Removes every host end attach() made (one group delete) and every name;
 * resolves with the wall time. Deleting a veth's host end takes its peer.
 */
function teardownAttached() {
  return timedRun('sh', ['-c', `ip link delete group ${ATTACH_GROUP} && ip -all netns delete`]);
}

module.exports = { MAIN, ATTACH_GROUP, help, cliAvailable, makeNamespaces, nodeStart, teardownAttached };
