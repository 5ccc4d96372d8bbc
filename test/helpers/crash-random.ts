// The random half of the crash matrix: an attach killed (SIGKILL) at a random
// moment, many times over, each try checked by crashTry. How long the attach
// takes here is measured first by attaches that are not killed (each one
// checked and undone like any try): its whole duration, and the part from
// its journal entry to its completion, where a kill leaves something to
// undo. A quarter of the kills spread over the whole attach, counted from
// its start; the rest over that last part, counted from the moment the
// journal entry appears (the child watches for it), however loaded the
// machine is. Kills that land after it finished count too (gc must leave a
// finished attachment alone).
import type { Test } from 'tap';
import { randomInt } from 'node:crypto';
import type { Guest, Scene } from './scene';
import { childFor, crashTry, type CrashTry, type Outcome } from './crash-try';

export async function randomKills(t: Test, s: Scene, g: Guest, spec: CrashTry['spec'], tries: number): Promise<Record<Outcome, number>> {
  const wholes: number[] = [];
  const journaleds: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await crashTry(t, s, g, { spec, label: `unkilled attach ${i + 1}` });
    t.equal(r.outcome, 'completed', 'an attach nobody kills completes');
    wholes.push(r.ms ?? 0);
    journaleds.push(r.journaledMs ?? 0);
  }
  // The median: one run slowed by a burst of load elsewhere must not set the scale.
  const whole = wholes.sort((a, b) => a - b)[1]!;
  const journaled = journaleds.sort((a, b) => a - b)[1]!;
  const end = Math.ceil(whole) + 2;
  const after = journaled + 2;
  t.comment(`attach takes ${whole.toFixed(1)} ms here (median), ${journaled} ms of it after its journal entry: kills at 0-${end} ms from its start, or (3 in 4) at 0-${after} ms from its journal entry`);
  const counts: Record<Outcome, number> = { crashed: 0, completed: 0, untouched: 0 };
  let next = childFor(s, g, { spec, label: '' });
  for (let i = 0; i < tries; i++) {
    const child = next;
    if (i + 1 < tries) next = childFor(s, g, { spec, label: '' });
    const fromStart = i % 4 === 0;
    const at = fromStart ? randomInt(0, end + 1) : randomInt(0, after + 1);
    const label = fromStart ? `killed ${at} ms into the attach` : `killed ${at} ms after its journal entry`;
    counts[(await crashTry(t, s, g, { spec, killAfterMs: at, killFrom: fromStart ? 'start' : 'journal', label, child })).outcome]++;
  }
  t.comment(`outcomes: ${JSON.stringify(counts)}`);
  return counts;
}
