// The bundled reproduction tests (FIELD-NOTES §1-§5): each scenario replays
// a field failure the old way, with the real tools, and the same job with
// pipewright, on this host's kernel, and says PASS or FAIL with numbers.
// `npm run repro` and `pipewright repro [NAME]` both come here.
//
// Every scenario works inside namespaces it creates and removes itself, but
// some of them also use /run/netns and start helper processes: so this only
// runs inside a pipewright sandbox (scripts/sandbox.sh, or ensureSandbox()).
import { release } from 'node:os';
import { PipewrightError, invalidArgument } from '../../core/errors';
import { inSandbox } from '../sandbox';
import { exec, errorText } from './common';
import { formatJson, formatReport } from './report';
import type { ReproReport, Scenario, ScenarioResult } from './types';
import { vethBridgeRace } from './veth-bridge-race';
import { tapLeak } from './tap-leak';
import { namespaceOutlived } from './namespace-outlived';
import { overlay } from './overlay';
import { retryStorm } from './retry-storm';

export type { ReproReport, ScenarioResult, Side, Check } from './types';
export { formatReport, formatJson } from './report';

/** In field-notes order. */
export const SCENARIOS: readonly Scenario[] = [vethBridgeRace, tapLeak, namespaceOutlived, overlay, retryStorm];

export interface ReproOptions {
  /** Print the report as JSON instead of text. */
  json?: boolean;
  /** Print the report (and, for text, a line per scenario as it runs). Default true. */
  print?: boolean;
  /** Per-scenario time limit (default 40 s; the whole run takes well under a minute). */
  timeoutMs?: number;
  /** Where to print (default: stdout for the report, stderr for progress). */
  out?: { write(s: string): unknown };
  progress?: { write(s: string): unknown };
}

async function hostInfo(): Promise<ReproReport['host']> {
  const ip = await exec('ip', ['-V']);
  const brctl = await exec('sh', ['-c', 'command -v brctl']);
  return {
    kernel: release(),
    iproute2: ip.code === 0 ? ip.stdout.trim() : `ip not runnable: ${ip.stderr.trim()}`,
    node: process.version,
    brctl: brctl.code === 0 ? brctl.stdout.trim() : null,
  };
}

/** Runs one scenario within its time limit; a crash or a timeout is a FAIL with the reason. */
async function runOne(s: Scenario, timeoutMs: number): Promise<ScenarioResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms (its cleanup still runs)`)), timeoutMs);
  });
  try {
    const r = await Promise.race([s.run({ timeoutMs }), timeout]);
    const pass = (r.pass ?? true) && r.checks.length > 0 && r.checks.every((c) => c.ok);
    return { ...r, pass, durationMs: Date.now() - started };
  } catch (e) {
    return {
      name: s.name,
      title: s.title,
      done: [],
      oldWay: { summary: 'not reached' },
      pipewright: { summary: 'not reached' },
      pass: false,
      checks: [],
      details: {},
      error: e instanceof Error && e.stack ? `${errorText(e)}\n${e.stack.split('\n').slice(1, 4).join('\n')}` : errorText(e),
      durationMs: Date.now() - started,
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the named scenarios (all when none are named), in field-notes order,
 * prints the report unless `print: false`, and returns it. `report.ok` is
 * the exit status to give: true when every scenario passed.
 */
export async function runRepro(names: string[] = [], opts: ReproOptions = {}): Promise<ReproReport> {
  if (!inSandbox())
    throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', 'the reproduction tests run only inside a pipewright sandbox: use scripts/sandbox.sh, `npm run repro`, or call ensureSandbox() first');
  const known = SCENARIOS.map((s) => s.name);
  for (const n of names) if (!known.includes(n)) throw invalidArgument('name', n, `is not a reproduction scenario (known: ${known.join(', ')})`);
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : [...SCENARIOS];
  const print = opts.print ?? true;
  const progress = opts.progress ?? process.stderr;
  const startedAt = new Date();
  const host = await hostInfo();
  const scenarios: ScenarioResult[] = [];
  for (const s of chosen) {
    if (print && !opts.json) progress.write(`running ${s.name} (§${s.section})...\n`);
    const r = await runOne(s, opts.timeoutMs ?? 40_000);
    scenarios.push(r);
    if (print && !opts.json) progress.write(`  ${r.pass ? 'PASS' : 'FAIL'} ${s.name} in ${(r.durationMs / 1000).toFixed(1)} s\n`);
  }
  const report: ReproReport = {
    ok: scenarios.every((s) => s.pass),
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    host,
    scenarios,
  };
  if (print) (opts.out ?? process.stdout).write(`${opts.json ? formatJson(report) : formatReport(report)}\n`);
  return report;
}
