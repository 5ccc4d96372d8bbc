// Running a way's processes: the create/verify/teardown protocol of
// bench/lib/child.js, and plain scripts timed from the outside.
'use strict';

const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const readline = require('node:readline');

/** Runs cmd to completion; resolves with its wall time in ms, rejects on failure. */
function timedRun(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve(ms);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
    });
  });
}

/**
 * Speaks the protocol with a way's process: waits for its "created" line,
 * runs afterCreate (verification), lets it tear down, waits for "gone".
 * Resolves with both reports merged.
 */
function protocol(cmd, args, afterCreate) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    let failure = null;
    const reports = {};
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', async (line) => {
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        return; // not ours (a library warning on stdout, say)
      }
      Object.assign(reports, msg);
      if (msg.phase !== 'created') return;
      try {
        await afterCreate();
      } catch (e) {
        failure = e;
      }
      // Let it tear down even after a failed verification, so the next way
      // starts clean; the failure is reported all the same.
      child.stdin.end('go\n');
    });
    child.on('close', (code, signal) => {
      if (failure) reject(failure);
      else if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-2000)}`));
      else if (reports.phase !== 'gone') reject(new Error(`${cmd} exited without reporting teardown`));
      else resolve(reports);
    });
  });
}

module.exports = { timedRun, protocol };
