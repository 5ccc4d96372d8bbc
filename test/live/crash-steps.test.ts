// The crash matrix, part 1: SIGKILL the attaching process right after each
// step of the plan in turn (PIPEWRIGHT_FAILPOINT_ACTION=kill), three times over,
// for a bridge the attach creates (replacing a default route), an existing
// bridge, and a macvlan. After each kill: doctor reports the half-made
// attachment, a re-run names it as pipewright's leftover, gc (whose dry run
// lists the same) restores everything as if the attach had never been
// tried, decoys included, and the attach then succeeds (test/helpers/crash-try.ts).
import t from 'tap';
import { planAttach } from '../../lib';
import { withScene, type Scene, type Guest } from '../helpers/scene';
import { addDecoys, forgetOlderScenes, raiseIndexes } from '../helpers/crash';
import { childFor, crashTry, type CrashTry } from '../helpers/crash-try';

// Each try starts a process and runs gc (a scan of every namespace): on a
// loaded 2-CPU machine the file needs more than the default 120 s.
t.setTimeout(600_000);

const ROUNDS = 3;

const variants = [
  {
    name: 'bridge created by the attach, default route replaced',
    hostIf: 'br0',
    setup: async (_s: Scene, g: Guest) => {
      await g.handle.link.add({ kind: 'veth', name: 'old0', up: true, peer: { name: 'old1', up: true } });
      await g.handle.addr.add('old0', '192.0.2.2/24');
      await g.handle.route.add({ dst: 'default', gateway: '192.0.2.1' });
    },
    extra: { gateway: '10.0.0.1', mac: '02:00:00:00:00:03' },
  },
  { name: 'existing bridge', hostIf: 'br1', setup: async (s: Scene) => void (await s.host.link.add({ kind: 'bridge', name: 'br1', up: true })), extra: { gateway: '10.0.0.1' } },
  { name: 'macvlan', hostIf: 'phys0', setup: async (s: Scene) => void (await s.host.link.add({ kind: 'veth', name: 'phys0', peer: { name: 'wire0' } })), extra: {} },
];

for (const v of variants) {
  t.test(`killed after each step in turn (${v.name}), ${ROUNDS} rounds`, (t) =>
    withScene(t, async (s) => {
      await addDecoys(s);
      const g = await s.guest({ named: true });
      await raiseIndexes(g.handle);
    await forgetOlderScenes(s);
      await v.setup(s, g);
      const spec = { hostIf: v.hostIf, address: '10.0.0.3/24', ...v.extra };
      const plan = await planAttach({ ...spec, host: s.host, guest: g.ns });
      t.ok(plan.steps.length >= 4, `${plan.steps.length} steps`);
      const tries: CrashTry[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (const step of plan.steps) tries.push({ spec, env: { PIPEWRIGHT_FAILPOINT: step, PIPEWRIGHT_FAILPOINT_ACTION: 'kill' }, label: `killed after "${step}"` });
      }
      const outcomes: string[] = [];
      // Each try's child starts while the previous try is being checked.
      let next = childFor(s, g, tries[0]!);
      for (let i = 0; i < tries.length; i++) {
        const child = next;
        if (i + 1 < tries.length) next = childFor(s, g, tries[i + 1]!);
        outcomes.push((await crashTry(t, s, g, { ...tries[i]!, child })).outcome);
      }
      // Once verified, the entry's 'complete' write runs beside the last steps:
      // a kill after verification finds it complete, or not yet.
      const beforeVerify = tries.map((x, i) => [x, outcomes[i]] as const).filter(([x]) => plan.steps.indexOf(x.env!.PIPEWRIGHT_FAILPOINT!) < plan.steps.findIndex((d) => d.startsWith('verify')));
      t.ok(beforeVerify.every(([, o]) => o === 'crashed'), 'every kill before verification left a crashed attach to undo');
      t.ok(outcomes.every((o) => o !== 'untouched'), 'every kill came after the journal entry was written');
    }),
  );
}
