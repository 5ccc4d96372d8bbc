// A resident `pipewright engine` for the engine's benchmarks
// (engine-reconcile.js, engine-soak.js), and its resident memory.
'use strict';

const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const MAIN = join(__dirname, '..', '..', require('../../package.json').bin.pipewright);

/** Starts `pipewright engine`; resolves with its child process once it says it is ready. */
function startEngine() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'engine'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d) => {
      log += d;
      if (/ready on/.test(log)) resolve(child);
    });
    child.on('close', (code) => reject(new Error(`the engine exited (${code}): ${log.trim()}`)));
  });
}

/** A process's resident set, MB. */
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

module.exports = { startEngine, rssMb };
