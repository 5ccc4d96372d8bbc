// The report: for a person, per scenario what was done, what the old way
// produced, what pipewright produced, PASS/FAIL and the numbers; for a
// machine, the same as JSON.
import type { ReproReport, ScenarioResult, Side } from './types';

function numbers(side: Side): string[] {
  return Object.entries(side)
    .filter(([k, v]) => k !== 'summary' && (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string'))
    .map(([k, v]) => `${k}=${v}`);
}

/** Wraps `text` at `width` columns; the first line starts with `first`, the others with `indent`. */
function wrap(text: string, indent: string, first = indent, width = 100): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? first : indent) + l).join('\n');
}

export function formatScenario(s: ScenarioResult, index: number): string {
  const out: string[] = [];
  const verdict = s.pass ? 'PASS' : 'FAIL';
  out.push(`${index}. ${s.name} — ${s.title}   [${verdict}, ${(s.durationMs / 1000).toFixed(1)} s]`);
  if (s.error) out.push(wrap(`ERROR: ${s.error}`, '   '));
  if (s.done.length) {
    out.push('   What was done:');
    for (const d of s.done) out.push(wrap(d, '       ', '     - '));
  }
  out.push('   Old way:');
  out.push(wrap(s.oldWay.summary, '     '));
  const on = numbers(s.oldWay);
  if (on.length) out.push(wrap(on.join('  '), '     '));
  out.push('   pipewright:');
  out.push(wrap(s.pipewright.summary, '     '));
  const pn = numbers(s.pipewright);
  if (pn.length) out.push(wrap(pn.join('  '), '     '));
  for (const sk of s.skipped ?? []) out.push(wrap(`SKIPPED ${sk}`, '   '));
  const failed = s.checks.filter((c) => !c.ok);
  out.push(`   Checks: ${s.checks.length - failed.length}/${s.checks.length} hold`);
  for (const c of failed) out.push(wrap(`FAILED: ${c.what}`, '     '));
  return out.join('\n');
}

export function formatReport(r: ReproReport): string {
  const out: string[] = [];
  out.push(`pipewright reproduction tests — kernel ${r.host.kernel}, ${r.host.iproute2}, node ${r.host.node}, brctl ${r.host.brctl ?? 'not installed'}`);
  out.push('');
  r.scenarios.forEach((s, i) => {
    out.push(formatScenario(s, i + 1));
    out.push('');
  });
  const passed = r.scenarios.filter((s) => s.pass).length;
  out.push(`${r.ok ? 'PASS' : 'FAIL'}: ${passed}/${r.scenarios.length} scenarios passed in ${(r.durationMs / 1000).toFixed(1)} s`);
  return out.join('\n');
}

export function formatJson(r: ReproReport): string {
  return JSON.stringify(r, null, 2);
}
