// What the ownership journal costs an attach (issue 11): run with
// `node bench/journal-overhead.js` (re-runs itself in a sandbox).
//  1. The journal's own operations, alone: begin (shared lock and an
//     'in-progress' entry, together) then complete (the 'complete' entry,
//     lock released), one pair after another.
//  2. Sequential attaches (one awaited after another, each to a fresh
//     anonymous guest on one bridge) with the journal and with its hooks
//     replaced by no-ops, in alternating blocks so that a change in the
//     machine's load falls on both; medians of the per-attach times.
//  3. 200 concurrent attaches, the same way: the wall time of each batch.
'use strict';

const { join } = require('node:path');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const dist = join(__dirname, '..', 'dist', 'lib');
const { attach, Handle, Netns } = require(dist);
const record = require(join(dist, 'ops', 'attach', 'record'));
const { AttachmentRecord } = require(join(dist, 'ops', 'ownership'));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms * 1000).toFixed(0)} µs`;

async function journalOps(n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const rec = await AttachmentRecord.begin({
      owner: 'bench', hostNetns: '1:1', guestNetns: `9:${i}`, guestIf: 'eth1', mode: 'bridge', hostIf: 'br0', createsBridge: false, hostEnd: 'vx', group: 0x7077,
      alias: 'x', guest: { kind: 'netns', label: 'x' }, spec: { hostIf: 'br0', guestIf: 'eth1', directPhys: false, arp: true, owner: 'bench', group: 0x7077 },
    });
    await rec.settled({ hostEndIndex: 1 });
    times.push(performance.now() - t0);
    await require(join(dist, 'ops', 'ownership')).removeEntry(rec.file);
  }
  return times;
}

const realRecord = record.recordAttach;
const noJournal = async () => ({ note: async () => undefined, complete: () => undefined, settled: async () => null, failed: async () => undefined });

async function attaches(host, n, withJournal, arp = false) {
  record.recordAttach = withJournal ? realRecord : noJournal;
  const guests = await Promise.all(Array.from({ length: n }, () => Netns.create()));
  const times = [];
  for (const g of guests) {
    const t0 = performance.now();
    await attach({ host, hostIf: 'br0', guest: g, address: '10.1.0.2/16', arp });
    times.push(performance.now() - t0);
  }
  for (const g of guests) await g.close();
  return times;
}

(async () => {
  const ops = await journalOps(300);
  console.log(`journal begin+complete, alone: median ${fmt(median(ops))} (n=${ops.length})`);
  const hostNs = await Netns.create();
  const host = await Handle.open(hostNs);
  await host.link.add({ kind: 'bridge', name: 'br0', up: true });
  const withJ = [];
  const without = [];
  for (let block = 0; block < 10; block++) {
    without.push(...(await attaches(host, 20, false)));
    withJ.push(...(await attaches(host, 20, true)));
  }
  const a = median(withJ);
  const b = median(without);
  console.log(`sequential attach: median ${fmt(a)} with the journal, ${fmt(b)} without (n=${withJ.length} each): +${fmt(a - b)} per attach`);
  const arpWith = [];
  const arpWithout = [];
  for (let block = 0; block < 5; block++) {
    arpWithout.push(...(await attaches(host, 20, false, true)));
    arpWith.push(...(await attaches(host, 20, true, true)));
  }
  const e = median(arpWith);
  const f = median(arpWithout);
  console.log(`sequential attach with its gratuitous ARP (the default): median ${fmt(e)} with the journal, ${fmt(f)} without (n=${arpWith.length} each): +${fmt(e - f)} per attach`);
  const batchWith = [];
  const batchWithout = [];
  for (let round = 0; round < 4; round++) {
    for (const [withJournal, out] of [[false, batchWithout], [true, batchWith]]) {
      record.recordAttach = withJournal ? realRecord : noJournal;
      const guests = await Promise.all(Array.from({ length: 200 }, () => Netns.create()));
      const t0 = performance.now();
      await Promise.all(guests.map((g) => attach({ host, hostIf: 'br0', guest: g, address: '10.1.0.2/16', arp: false })));
      out.push(performance.now() - t0);
      for (const g of guests) await g.close();
    }
  }
  const c = median(batchWith);
  const d = median(batchWithout);
  console.log(`200 concurrent attaches: median ${c.toFixed(0)} ms with the journal, ${d.toFixed(0)} ms without (${batchWith.length} rounds each): +${fmt((c - d) / 200)} per attach`);
  await host.close();
  await hostNs.close();
})();
