// Per-operation cost of the library against `ip -batch` doing the same work
// in the same run: N bridge adds, N address adds, N route adds, N deletes.
// Each side works in its own fresh namespace. Medians of several rounds.
//
//   node bench/ops.js [N] [ROUNDS]        (re-runs itself inside a sandbox)
const { execFileSync } = require('node:child_process');
const { writeFileSync, mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { Handle, Netns } = require('pipewright');
const { ensureSandbox } = require('pipewright/sandbox');

ensureSandbox();

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 5);
const PHASES = ['link add', 'addr add', 'route add', 'link del'];

function commands(i) {
  const a = i >> 8, b = i & 255;
  return {
    'link add': `link add pwb${i} type bridge`,
    'addr add': `addr add 10.${100 + (a % 50)}.${b}.1/32 dev pwb0`,
    'route add': `route add 10.${200 + (a % 50)}.${b}.0/24 dev pwb0`,
    'link del': `link del pwb${i}`,
  };
}

async function libraryRound(batched) {
  const ns = await Netns.create();
  const h = await Handle.open(ns);
  const ops = {
    'link add': (i) => ({ op: 'link.add', args: { kind: 'bridge', name: `pwb${i}` } }),
    'addr add': (i) => { const a = i >> 8, b = i & 255; return { op: 'addr.add', args: { index: 'pwb0', address: `10.${100 + (a % 50)}.${b}.1`, prefixLen: 32 } }; },
    'route add': (i) => { const a = i >> 8, b = i & 255; return { op: 'route.add', args: { family: 4, dst: `10.${200 + (a % 50)}.${b}.0`, dstLen: 24, dev: 'pwb0' } }; },
    'link del': (i) => ({ op: 'link.del', args: { index: `pwb${i}` } }),
  };
  const times = {};
  await h.link.add({ kind: 'bridge', name: 'pwb0', up: true });
  for (const phase of PHASES) {
    const start = i0(phase);
    const t0 = process.hrtime.bigint();
    if (batched) {
      const list = [];
      for (let i = start; i < N; i++) list.push(ops[phase](i));
      await h.runBatch(list);
    } else {
      const api = {
        'link add': (i) => h.link.add({ kind: 'bridge', name: `pwb${i}` }),
        'addr add': (i) => { const o = ops['addr add'](i).args; return h.addr.add('pwb0', `${o.address}/32`); },
        'route add': (i) => { const o = ops['route add'](i).args; return h.route.add({ dst: `${o.dst}/24`, dev: 'pwb0' }); },
        'link del': (i) => h.link.del(`pwb${i}`),
      };
      for (let i = start; i < N; i++) await api[phase](i);
    }
    times[phase] = Number(process.hrtime.bigint() - t0) / 1e6 / (N - start);
  }
  await h.close();
  await ns.close();
  return times;
}

// pwb0 carries the addresses and routes, so it is made before and deleted last.
function i0(phase) {
  return phase === 'link add' ? 1 : 0;
}

function ipBatchRound() {
  const dir = mkdtempSync(join(tmpdir(), 'pwbench-'));
  const name = `pwbench${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  const times = {};
  try {
    execFileSync('ip', ['-n', name, 'link', 'add', 'pwb0', 'type', 'bridge']);
    execFileSync('ip', ['-n', name, 'link', 'set', 'pwb0', 'up']);
    for (const phase of PHASES) {
      const file = join(dir, phase.replace(' ', '-'));
      const lines = [];
      for (let i = i0(phase); i < N; i++) lines.push(commands(i)[phase]);
      writeFileSync(file, lines.join('\n') + '\n');
      const t0 = process.hrtime.bigint();
      execFileSync('ip', ['-n', name, '-batch', file]);
      times[phase] = Number(process.hrtime.bigint() - t0) / 1e6 / lines.length;
    }
  } finally {
    execFileSync('ip', ['netns', 'del', name]);
    rmSync(dir, { recursive: true, force: true });
  }
  return times;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const results = { 'pipewright (await each)': [], 'pipewright (runBatch)': [], 'ip -batch': [] };
  for (let r = 0; r < ROUNDS; r++) {
    results['pipewright (await each)'].push(await libraryRound(false));
    results['pipewright (runBatch)'].push(await libraryRound(true));
    results['ip -batch'].push(ipBatchRound());
  }
  console.log(`N = ${N} per phase, median of ${ROUNDS} rounds, µs per operation (kernel ${execFileSync('uname', ['-r']).toString().trim()})\n`);
  console.log(`| way | ${PHASES.join(' | ')} |`);
  console.log(`|---|${PHASES.map(() => '---:').join('|')}|`);
  const med = {};
  for (const [way, rounds] of Object.entries(results)) {
    med[way] = Object.fromEntries(PHASES.map((p) => [p, median(rounds.map((t) => t[p])) * 1000]));
    console.log(`| ${way} | ${PHASES.map((p) => med[way][p].toFixed(1)).join(' | ')} |`);
  }
  for (const way of ['pipewright (await each)', 'pipewright (runBatch)']) {
    console.log(`| ip -batch ÷ ${way} | ${PHASES.map((p) => (med['ip -batch'][p] / med[way][p]).toFixed(2) + '×').join(' | ')} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
