// The random half of the crash matrix: an attach killed (SIGKILL) at a random
// moment, many times over, each try checked by crashTry. How long the attach
// takes here is measured first by attaches that are not killed (each one
// checked and undone like any try): its whole duration, and the part from
// its journal entry to its completion, where a kill leaves something to
// undo. A quarter of the kills spread over the whole attach, the rest over
// that last part, however loaded the machine is; kills that land after it
// finished count too (gc must leave a finished attachment alone).
import type { Test } from 'tap';
import { randomInt } from 'node:crypto';
import type { Guest, Scene } from './scene';
import { childFor, crashTry, type CrashTry, type Outcome } from './crash-try';

export async function randomKills(t: Test, s: Scene, g: Guest, spec: CrashTry['spec'], tries: number): Promise<Record<Outcome, number>> {
  let whole = 0;
  let journaled = 0;
  for (let i = 0; i < 3; i++) {
    const r = await crashTry(t, s, g, { spec, label: `unkilled attach ${i + 1}` });
    t.equal(r.outcome, 'completed', 'an attach nobody kills completes');
    whole = Math.max(whole, r.ms ?? 0);
    journaled = Math.max(journaled, r.journaledMs ?? 0);
  }
  const end = Math.ceil(whole) + 2;
  const from = Math.max(0, Math.floor(whole - journaled) - 2);
  t.comment(`attach takes up to ${whole.toFixed(1)} ms here, the last ${journaled} ms after its journal entry: kills at 0-${end} ms, most at ${from}-${end} ms`);
  const counts: Record<Outcome, number> = { crashed: 0, completed: 0, untouched: 0 };
  let next = childFor(s, g, { spec, label: '' });
  for (let i = 0; i < tries; i++) {
    const child = next;
    if (i + 1 < tries) next = childFor(s, g, { spec, label: '' });
    const at = i % 4 === 0 ? randomInt(0, end + 1) : randomInt(from, end + 1);
    counts[(await crashTry(t, s, g, { spec, killAfterMs: at, label: `killed ${at} ms into the attach`, child })).outcome]++;
  }
  t.comment(`outcomes: ${JSON.stringify(counts)}`);
  return counts;
}
