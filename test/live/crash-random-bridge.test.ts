// The crash matrix, part 2: an attach to an existing bridge killed (SIGKILL)
// at 80 random moments (test/helpers/crash-random.ts); after each, doctor,
// a re-run, gc and the decoys are checked as after a kill at a step boundary
// (test/helpers/crash-try.ts). A bridge the attach creates is left out here:
// a kill between its creation and its mark leaves a bridge nothing proves is
// ours (docs/design-notes.md), which gc reports and does not remove.
import t from 'tap';
import { withScene } from '../helpers/scene';
import { addDecoys, forgetOlderScenes, raiseIndexes } from '../helpers/crash';
import { randomKills } from '../helpers/crash-random';

// Each try starts a process and runs gc (a scan of every namespace): on a
// loaded 2-CPU machine the file needs more than the default 120 s.
t.setTimeout(600_000);

t.test('an attach to an existing bridge killed at 80 random moments: each time restored exactly', (t) =>
  withScene(t, async (s) => {
    await addDecoys(s);
    await s.host.link.add({ kind: 'bridge', name: 'br1', up: true });
    const g = await s.guest({ named: true });
    await raiseIndexes(g.handle);
    await forgetOlderScenes(s);
    const counts = await randomKills(t, s, g, { hostIf: 'br1', address: '10.0.0.3/24', gateway: '10.0.0.1' }, 80);
    t.ok(counts.crashed > 0, 'some kills left a half-made attachment (the test exercised the rollback)');
  }),
);
