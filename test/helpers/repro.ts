// Runs one reproduction scenario for a tap test: prints its report as a
// comment, asserts it ran to the end, and hands back both sides' numbers.
import type { Test } from 'tap';
import { runRepro, formatReport } from '../../lib/repro';
import type { ScenarioResult } from '../../lib/repro';

export async function runScenario(t: Test, name: string): Promise<{ s: ScenarioResult; old: Record<string, any>; pw: Record<string, any> }> {
  const report = await runRepro([name], { print: false });
  t.comment(formatReport(report));
  const s = report.scenarios[0]!;
  t.equal(s.error, undefined, 'the scenario ran to the end');
  return { s, old: s.oldWay as Record<string, any>, pw: s.pipewright as Record<string, any> };
}
