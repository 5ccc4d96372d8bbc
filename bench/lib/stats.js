// Summaries of repeated measurements, and letting the machine settle
// between runs.
'use strict';

const { readFileSync } = require('node:fs');

const sorted = (xs) => [...xs].sort((a, b) => a - b);

function median(xs) {
  if (!xs.length) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function percentile(xs, p) {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const summary = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  return { busy: f.reduce((a, b) => a + b, 0) - idle, total: f.reduce((a, b) => a + b, 0) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the kernel's asynchronous work of the previous run (namespace
 * cleanup runs on a workqueue after teardown returns) to finish: until the
 * machine is mostly idle over two 100 ms windows, at most maxMs. Other
 * processes on the machine can keep it busy; then it just waits maxMs.
 */
async function settle(minMs, maxMs = 3000) {
  const t0 = Date.now();
  await sleep(minMs);
  let quiet = 0;
  while (quiet < 2 && Date.now() - t0 < maxMs) {
    const a = cpuTimes();
    await sleep(100);
    const b = cpuTimes();
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    quiet = busy < 0.15 ? quiet + 1 : 0;
  }
}

module.exports = { median, percentile, summary, settle, sleep };
