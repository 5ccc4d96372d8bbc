// The crash matrix, part 3: a macvlan attach (its lower device down, so the
// attach brings it up) killed (SIGKILL) at 80 random moments; checked as in
// crash-random-bridge.test.ts.
import t from 'tap';
import { withScene } from '../helpers/scene';
import { addDecoys, forgetOlderScenes, raiseIndexes } from '../helpers/crash';
import { randomKills } from '../helpers/crash-random';

// Each try starts a process and runs gc (a scan of every namespace): on a
// loaded 2-CPU machine the file needs more than the default 120 s.
t.setTimeout(600_000);

t.test('a macvlan attach killed at 80 random moments: each time restored exactly', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'veth', name: 'phys0', peer: { name: 'wire0' } });
    await addDecoys(s);
    const g = await s.guest({ named: true });
    await raiseIndexes(g.handle);
    await forgetOlderScenes(s);
    const counts = await randomKills(t, s, g, { hostIf: 'phys0', address: '10.0.0.3/24' }, 80);
    t.ok(counts.crashed > 0, 'some kills left a half-made attachment (the test exercised the rollback)');
  }),
);
