// Runs one reproduction scenario for a tap test: prints its report as a
// comment, asserts it ran to the end, and hands back both sides' numbers.
import type { Test } from 'tap';
import { runRepro, formatReport } from '../../lib/ops/repro';
import type { ScenarioResult } from '../../lib/ops/repro';

/**
 * `timeoutMs` bounds a hang only, so it is generous: on a loaded machine a
 * scenario takes several times what it takes on an idle one (veth-bridge-race:
 * ~15 s idle, 90 s beside a CPU hog). It stays under the file's tap timeout
 * (.taprc), so the scenario's own cleanup still runs.
 */
export async function runScenario(t: Test, name: string, timeoutMs = 300_000): Promise<{ s: ScenarioResult; old: Record<string, any>; pw: Record<string, any> }> {
  const report = await runRepro([name], { print: false, timeoutMs });
  t.comment(formatReport(report));
  const s = report.scenarios[0]!;
  t.equal(s.error, undefined, 'the scenario ran to the end');
  return { s, old: s.oldWay as Record<string, any>, pw: s.pipewright as Record<string, any> };
}
