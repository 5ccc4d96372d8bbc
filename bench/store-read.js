// What reading a host-local store costs the CNI plugin, as the number of
// leases grows: `node bench/store-read.js [--leases 0,200,400] [--reads 300]`
// (re-runs itself in a sandbox; the stores are made in a temporary
// directory and removed after). Each store's files are left to age past the
// addon's 100 ms (native/store_file_cache.h), as the leases of running
// containers are; then, for each size, the median µs of a process's
// repeated readings (what the engine does; from the second on, the
// directory is watched and only the names with events are looked at):
//  - openLockedDir: the lock taken and what changed since read (entries
//    new or changed, names gone: only those sent to JS);
//  - openStore: the same, plus the index of leases by owner updated.
'use strict';

const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const { mkdirSync, mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { openLockedDir } = require('../dist/lib/core/locked-dir');
const { openStore } = require('../dist/lib/ops/cni/host-local/store');

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const SIZES = String(option('--leases', '0,200,400')).split(',').map(Number);
const READS = Number(option('--reads', 300));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn) {
  const us = [];
  for (let i = 0; i < 50; i++) await fn(); // warm
  for (let i = 0; i < READS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return median(us);
}

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'pw-bench-store-'));
  try {
    for (const n of SIZES) {
      const dir = join(root, `n${n}`);
      mkdirSync(dir);
      for (let i = 0; i < n; i++) writeFileSync(join(dir, `10.30.${i >> 8}.${(i & 255) + 2}`), `bench${i}\r\neth0`);
    }
    // Older than the addon's threshold, with margin: what it keeps.
    await new Promise((r) => setTimeout(r, 300));
    console.log('| leases | openLockedDir µs | openStore µs |');
    console.log('|---:|---:|---:|');
    for (const n of SIZES) {
      const dirUs = await timed(async () => (await openLockedDir(root, `n${n}`, 'lock')).release());
      const storeUs = await timed(async () => (await openStore(root, `n${n}`)).dir.release());
      console.log(`| ${n} | ${dirUs.toFixed(0)} | ${storeUs.toFixed(0)} |`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
