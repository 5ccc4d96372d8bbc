// The report: markdown tables of the runs (medians and ranges), the ratios
// issue 6 sets as targets with met/missed, and where the time goes.
'use strict';

const { median, summary } = require('./stats');

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const range = (s) => `${f1(s.min)}–${f1(s.max)}`;

function runsTable({ ways, results }) {
  const rows = ['| way | teardown | N | create ms (median, min–max) | per guest ms | teardown ms (median, min–max) | per guest ms | runs |', '|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const w of ways) {
    for (const [n, runs] of Object.entries(results[w.id] ?? {})) {
      const c = summary(runs.map((r) => r.createMs));
      const t = summary(runs.map((r) => r.teardownMs));
      rows.push(`| ${w.label} | ${w.teardown} | ${n} | ${f1(c.median)} (${range(c)}) | ${f2(c.median / n)} | ${f1(t.median)} (${range(t)}) | ${f2(t.median / n)} | ${runs.length} |`);
    }
  }
  return rows.join('\n');
}

function med(results, id, n, key) {
  const runs = results[id]?.[n];
  return runs ? median(runs.map((r) => r[key])) : NaN;
}

/** The C reference's create time at n, over both of its runs (same create work). */
function cReferenceCreate(results, n) {
  return median([...(results.c?.[n] ?? []), ...(results['c-each']?.[n] ?? [])].map((r) => r.createMs));
}

const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'met' : '**missed**');
const check = (x, op, limit) => (Number.isFinite(x) ? (op === '<=' ? x <= limit : x >= limit) : null);

const BATCH_WAYS = ['batch-lines', 'batch-json'];
// Issue 6 sets the batch form's targets at N = 200; other N are shown, not judged.
const BATCH_TARGET_N = 200;

/**
 * The batch ways' targets. Every side makes the namespaces: the C reference
 * in its create, the batch invocation with --create-netns, and pipework's
 * sequence way by `ip netns add` per guest. "One Node start" is the median `node -e 0`
 * the batch way sampled in the same run. pipework here is its command
 * sequence (bench/iproute2/pipework-sequence.sh), which flatters it: issue 6
 * measured the real script at ≈ 70 ms/guest against the sequence's ≈ 50.
 */
function batchTargets(results, label, add) {
  for (const id of BATCH_WAYS) {
    for (const [key, runs] of Object.entries(results[id] ?? {})) {
      const n = Number(key);
      const judged = n === BATCH_TARGET_N;
      const total = median(runs.map((r) => r.createMs));
      const inv = median(runs.map((r) => r.batchMs));
      const node = median(runs.flatMap((r) => r.nodeStart));
      const c = cReferenceCreate(results, n);
      const x = total / (c + node);
      add(
        `CLI batch: ${label(id)} (one invocation, namespaces made by it: ${f1(inv)} ms) ÷ (C reference ${f1(c)} ms + node -e 0 ${f1(node)} ms)`,
        n,
        `${f2(x)}×`,
        judged ? '≤ 1.30×' : `(≤ 1.30× at N = ${BATCH_TARGET_N})`,
        judged ? check(x, '<=', 1.3) : null,
      );
      const pw = med(results, 'pipework', n, 'createMs');
      const y = pw / total;
      if (Number.isFinite(y)) {
        add(
          `CLI batch: pipework's command sequence (${f1(pw / n)} ms/guest here; issue 6 measured it at ≈ 50, real pipework at ≈ 70) ÷ ${label(id)}, namespaces made on both sides`,
          n,
          `${f2(y)}×`,
          judged ? '≥ 40×' : `(≥ 40× at N = ${BATCH_TARGET_N})`,
          judged ? check(y, '>=', 40) : null,
        );
      }
    }
  }
}

/**
 * Issue 15: one guest per invocation through the native client with the
 * engine (≤ 5 ms, ≥ 10× faster than pipework's command sequence in the same
 * run), and without an engine (no slower than the Node CLI way, cli-one).
 */
function engineTargets(results, add) {
  for (const [n, runs] of Object.entries(results['cli-engine'] ?? {})) {
    const inv = median(runs.flatMap((r) => r.perInvocation));
    const cold = median(runs.flatMap((r) => r.coldPerInvocation ?? []));
    const start = median(runs.flatMap((r) => r.processStart ?? []));
    const perGuest = med(results, 'cli-engine', n, 'createMs') / Number(n);
    add(`CLI with the engine (pipewright-fast), one guest per invocation, timed in bash: median invocation, wall ms (per guest, all ${n} together: ${f2(perGuest)} ms; the engine's first pass: ${f2(cold)} ms; /bin/true: ${f2(start)} ms)`, n, `${f2(inv)} ms`, '≤ 5 ms', check(inv, '<=', 5));
    // Both sides take existing guests: pipework's namespaces are made (and timed) apart. Its script is timed whole,
    // so both sides are compared per guest over the whole pass (total ÷ N), not by a median invocation.
    const pw = med(results, 'pipework', n, 'withoutSetupMs') / Number(n);
    if (Number.isFinite(pw)) add(`pipework's command sequence (${f1(pw)} ms/guest, its guests' namespaces made apart) ÷ CLI with the engine (${f2(perGuest)} ms/guest), each the whole pass ÷ N`, n, `${f2(pw / perGuest)}×`, '≥ 10×', check(pw / perGuest, '>=', 10));
    const cli = median((results['cli-one']?.[n] ?? []).flatMap((r) => r.perInvocation));
    if (Number.isFinite(cli)) add(`CLI without the engine (${f1(cli)} ms) ÷ CLI with the engine`, n, `${f2(cli / inv)}×`, '', null);
  }
  for (const [n, runs] of Object.entries(results['cli-fallback'] ?? {})) {
    // Paired: guest 2i through the client, guest 2i+1 through `node launch.js` right after it (bench/ways/cli-engine.js).
    const ratios = runs.flatMap((r) => (r.nodeCliPaired ?? []).map((cli, i) => r.perInvocation[i] / cli)).filter(Number.isFinite);
    if (ratios.length === 0) continue;
    const inv = median(runs.flatMap((r) => r.perInvocation));
    const cli = median(runs.flatMap((r) => r.nodeCliPaired));
    add(`pipewright-fast with no engine (execs the Node CLI: ${f1(inv)} ms) ÷ the Node CLI run directly (${f1(cli)} ms), median of ${ratios.length} interleaved pairs`, n, `${f3(median(ratios))}×`, '≤ 1.05× (no slower)', check(median(ratios), '<=', 1.05));
  }
}

function targetsTable({ ways, results, extras, unavailable }) {
  const rows = ['| target | N | measured | goal | verdict |', '|---|---:|---:|---:|---|'];
  const add = (what, n, value, goal, ok) => rows.push(`| ${what} | ${n} | ${value} | ${goal} | ${verdict(ok)} |`);
  // A ratio whose ways did not run (--only) is left out rather than shown as "–×".
  const ratio = (what, n, x, goal, op, limit) => Number.isFinite(x) && add(what, n, `${f2(x)}×`, goal, op ? check(x, op, limit) : null);
  const label = (id) => ways.find((w) => w.id === id)?.label ?? id;
  const ns = [...new Set(Object.values(results).flatMap((byN) => Object.keys(byN)))].map(Number).sort((a, b) => a - b);
  const cCreate = (n) => cReferenceCreate(results, n);
  for (const n of ns) {
    for (const id of ['lib-seq', 'lib-batch', 'lib-conc']) {
      const x = med(results, id, n, 'createMs') / cCreate(n);
      if (!Number.isFinite(x)) continue;
      // Each round runs every way once: the round's own ratios show how far
      // the machine moved the verdict's ratio of medians from run to run.
      const lib = results[id][n];
      const c = results.c?.[n] ?? [];
      const rounds = lib.length === c.length && lib.length > 1 ? lib.map((r, i) => r.createMs / c[i].createMs) : [];
      const spread = rounds.length ? ` (rounds ${f2(Math.min(...rounds))}–${f2(Math.max(...rounds))})` : '';
      add(`create: ${label(id)} ÷ C reference`, n, `${f2(x)}×${spread}`, '≤ 1.30×', check(x, '<=', 1.3));
    }
    for (const id of ['lib-seq', 'lib-batch', 'lib-conc']) {
      const x = med(results, 'ip-batch', n, 'createMs') / med(results, id, n, 'createMs');
      ratio(`create: ip -batch ÷ ${label(id)}`, n, x, '≥ 3×', '>=', 3);
    }
    const bulk = med(results, 'lib-seq', n, 'teardownMs');
    const x = bulk / med(results, 'c', n, 'teardownMs');
    ratio('teardown: library bulk ÷ C group delete', n, x, '≤ 1.50×', '<=', 1.5);
    const y = med(results, 'lib-each', n, 'teardownMs') / bulk;
    ratio('teardown: library one at a time ÷ library bulk', n, y, '≥ 25×', '>=', 25);
    const z = med(results, 'c-each', n, 'teardownMs') / med(results, 'c', n, 'teardownMs');
    ratio('teardown (reference): C one at a time ÷ C group delete', n, z, '');
  }
  for (const [n, runs] of Object.entries(results['cli-one'] ?? {})) {
    const inv = median(runs.flatMap((r) => r.perInvocation));
    const node = median(runs.flatMap((r) => r.nodeStart));
    add('CLI, one guest per invocation: wall ms (node -e 0 in the same run)', n, `${f1(inv)} ms (node -e 0: ${f1(node)} ms, +${f1(inv - node)})`, `≤ ${f1(node + 15)} ms`, check(inv, '<=', node + 15));
  }
  engineTargets(results, add);
  if (!results['cli-one'] && unavailable['cli-one']) add('CLI, one guest per invocation', '', unavailable['cli-one'], '≤ node -e 0 + 15 ms', null);
  batchTargets(results, label, add);
  for (const id of BATCH_WAYS) if (unavailable[id]) add(`CLI, batch of 200 guests (${label(id)}) ÷ (C reference + one Node start)`, 200, unavailable[id], '≤ 1.30×', null);
  for (const [e, what] of [[extras.eventLoop, ''], [extras.eventLoopNoFirewall, ' (diagnostic: firewall check stubbed out)']]) {
    if (!e) continue;
    const p99 = median(e.map((r) => r.loop.delayP99Ms));
    const idle = median(e.map((r) => r.idle.delayP99Ms));
    const wall = median(e.map((r) => r.createMs));
    add(`concurrency${what}: ${e.length} run(s) of 200 attach() at once, all succeeded; event-loop delay p99 (idle loop: ${f2(idle)} ms; wall ${f1(wall)} ms)`, 200, `${f2(p99)} ms`, '< 2 ms', what ? null : check(p99, '<=', 2 - 1e-9));
  }
  if (extras.memory) {
    const { cycles, after100: a, afterAll: b } = extras.memory;
    const d = b.rssMb - a.rssMb;
    const heap = `V8 heap used ${f1(a.heapUsedMb)} → ${f1(b.heapUsedMb)} MB, committed ${f1(a.heapTotalMb)} → ${f1(b.heapTotalMb)} MB`;
    add(`memory: RSS after ${cycles} create/delete cycles − after 100 (${f1(a.rssMb)} → ${f1(b.rssMb)} MB; ${heap})`, '', `${f1(d)} MB`, '≤ 10 MB', check(d, '<=', 10));
    // V8 commits a larger young generation as the allocation rate stays high (in steps of several MB, with the heap in use flat): what grew outside it is what a leak would show in.
    const outside = d - (b.heapTotalMb - a.heapTotalMb);
    add(`memory: of that, outside V8's committed heap (the addon, the allocator, buffers)`, '', `${f1(outside)} MB`, '', null);
  }
  if (extras.reconcile) {
    const r = extras.reconcile;
    add(`engine: a port released by an agent is re-enslaved (${r.releases} releases across ${r.ports} ports; p50 ${f2(r.p50Ms)} ms, max ${f2(r.maxMs)} ms${r.staleAtStart ? `; the engine started over ${r.staleAtStart} stale journal entries, other benchmarks' leftovers, and cleaned them meanwhile` : ''}), p99`, r.ports, `${f2(r.p99Ms)} ms`, '≤ 50 ms', check(r.p99Ms, '<=', 50));
    add('engine: ports left broken after the releases', r.ports, String(r.broken), '0', r.broken === 0);
    add(`engine: RSS after the releases − before (${f1(r.rssStartMb)} → ${f1(r.rssEndMb)} MB)`, r.ports, `${f1(r.rssEndMb - r.rssStartMb)} MB`, '', null);
  }
  if (extras.soak) {
    const k = extras.soak;
    const d = k.rssLastQuarterMedianMb - k.rssThirdQuarterMedianMb;
    const served = k.servedByEngine;
    add(`engine soak: RSS, last quarter of ${k.cycles} attach/detach cycles − third quarter, medians (start ${f1(k.rssStartMb)}, ${f1(k.rssThirdQuarterMedianMb)} → ${f1(k.rssLastQuarterMedianMb)} MB, max ${f1(k.rssMaxMb)}; the first half is warm-up; ${served.attach + served.detach} commands served by the engine, ${served.failed} failed; ${f1(k.seconds)} s)`, '', `${f1(d)} MB`, '≤ 5 MB', check(d, '<=', 5) && served.failed === 0 && k.trackedAtEnd === 0);
  }
  if (extras.asan) add(`memory loop under AddressSanitizer + UBSan (${extras.asan.cycles} cycles)`, '', 'no report', 'no report', true);
  return rows.join('\n');
}

/** Per-guest create cost as N grows: flat means no lookup grows with the host's links. */
function scalingTable({ ways, results }) {
  const ns = [...new Set(Object.values(results).flatMap((byN) => Object.keys(byN)))].map(Number).sort((a, b) => a - b);
  const rows = [`| way | ${ns.map((n) => `N = ${n}`).join(' | ')} |`, `|---|${ns.map(() => '---:').join('|')}|`];
  for (const id of ['c', 'lib-seq', 'lib-batch', 'lib-conc', 'ip-batch', 'ip-step', 'pipework', ...BATCH_WAYS]) {
    if (!results[id]) continue;
    const label = ways.find((w) => w.id === id).label;
    rows.push(`| ${label} | ${ns.map((n) => f2(med(results, id, n, 'createMs') / n)).join(' | ')} |`);
  }
  return rows.join('\n');
}

function phasesTable({ results }) {
  const rows = ['| way | N | namespace ms/guest | veth ms/guest | guest config ms/guest | total ms/guest |', '|---|---:|---:|---:|---:|---:|'];
  for (const [id, label] of [['c', 'C reference'], ['c-each', 'C reference'], ['lib-seq', 'library, typical calls'], ['lib-each', 'library, typical calls']]) {
    for (const [n, runs] of Object.entries(results[id] ?? {})) {
      const p = (k) => median(runs.map((r) => r.phases[k])) / n;
      rows.push(`| ${label} (${id}) | ${n} | ${f2(p('netnsMs'))} | ${f2(p('vethMs'))} | ${f2(p('guestMs'))} | ${f2(median(runs.map((r) => r.createMs)) / n)} |`);
    }
  }
  return rows.join('\n');
}

/** The batch ways' create, part by part (medians over runs; ranges are min–max). */
function batchPartsTable({ ways, results }) {
  const rows = [
    '| way | N | --concurrency | batch invocation ms (median, min–max) | node -e 0 ms | invocation − node -e 0, per guest ms | C reference create ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const id of BATCH_WAYS) {
    const label = ways.find((w) => w.id === id)?.label ?? id;
    for (const [n, runs] of Object.entries(results[id] ?? {})) {
      const inv = summary(runs.map((r) => r.batchMs));
      const node = median(runs.flatMap((r) => r.nodeStart));
      const conc = [...new Set(runs.map((r) => r.concurrency))].join(', ');
      rows.push(
        `| ${label} | ${n} | ${conc} | ${f1(inv.median)} (${range(inv)}) | ${f1(node)} | ${f2((inv.median - node) / n)} | ${f1(cReferenceCreate(results, n))} |`,
      );
    }
  }
  return rows.length > 2 ? rows.join('\n') : null;
}

function printReport(r) {
  const m = r.meta;
  const out = [
    `### Runs (kernel ${m.kernel}, ${m.cpus} CPUs${m.heldTo ? `, every way held to CPU ${m.heldTo}` : ''}, node ${m.node}, ${m.iproute2}; ${f1(m.minutes)} min; load average ${m.loadavg.atStart.map(f2).join(' ')} at start, ${m.loadavg.atEnd.map(f2).join(' ')} at end)`,
    '',
    `Command: \`${m.command}\`. Every run verified (ports, addresses, routes, pings, nothing left).`,
    '',
    runsTable(r),
    '',
    '### Targets (medians, ratios within the same run)',
    '',
    targetsTable(r),
    '',
    '### Create cost per guest (ms, medians) as N grows',
    '',
    scalingTable(r),
    '',
    '### Where the create time goes (per guest, medians)',
    '',
    phasesTable(r),
    '',
  ];
  const parts = batchPartsTable(r);
  if (parts) out.push('### The CLI batch ways\' create, part by part (medians)', '', parts, '');
  console.log(out.join('\n'));
}

module.exports = { printReport };
