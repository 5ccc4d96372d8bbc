// Processes timed the way shell scripts run them: one bash script runs them
// in the order given, each timed by bash itself ($EPOCHREALTIME, a builtin:
// no process of its own). Node's spawn() costs more per process than a
// shell's fork and exec (/bin/true: 1.75 ms against 0.97 ms here), a cost
// that is the bench's, not the command's: the ways that compare with
// pipework's command sequence (a shell script) are timed like this.
'use strict';

const { execFile } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const quote = (w) => `'${String(w).replace(/'/g, `'\\''`)}'`;

/**
 * runs: [{ name, argv, env?: ['K=V', ...] }] in order. stdin: a file each
 * reads (default /dev/null); output is discarded. env: the script's
 * environment (default this process's). set -e: a command that
 * fails fails the whole run (rejects with its stderr). Resolves with the ms
 * of each run, grouped by name, in order.
 */
function timeInBash(dir, label, runs, { stdin = '/dev/null', env = process.env } = {}) {
  const lines = ['set -e', `t() { local name=$1; shift; local s=$EPOCHREALTIME; "$@" <${quote(stdin)} >/dev/null; local e=$EPOCHREALTIME; echo "$name $s $e"; }`];
  for (const r of runs) {
    const assign = (r.env ?? []).map((kv) => kv.replace(/=(.*)$/s, (_, v) => `=${quote(v)}`));
    lines.push([...assign, 't', quote(r.name), ...r.argv.map(quote)].join(' '));
  }
  const script = join(dir, `${label}.sh`);
  writeFileSync(script, `${lines.join('\n')}\n`);
  return new Promise((resolve, reject) => {
    execFile('bash', [script], { encoding: 'utf8', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${script} failed: ${stderr.trim().slice(-2000)}`));
      const ms = {};
      for (const line of stdout.trim().split('\n').filter(Boolean)) {
        const [name, s, e] = line.split(' ');
        (ms[name] ??= []).push((Number(e) - Number(s)) * 1000);
      }
      resolve(ms);
    });
  });
}

module.exports = { timeInBash };
