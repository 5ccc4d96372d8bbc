// §4 The hand-built overlay: the bridge and VXLAN topologies of the Swarm
// write-up, built with pipewright, traffic across both, nothing left after.
import t from 'tap';
import { runScenario } from '../helpers/repro';

t.test('overlay', async (t) => {
  const { s, old, pw } = await runScenario(t, 'overlay');
  t.equal(old.failedCommands, 0, 'the hand-built version works here too');
  t.equal(pw.pingsOk, 5, 'guest to guest, guest to bridge, and container to container across VXLAN, both ways');
  t.equal(pw.pingsOk, pw.pings);
  t.equal(pw.leftovers, 0, 'torn down leaving nothing');
  t.same(s.details.fdb, ['hostA floods to 192.0.2.2', 'hostB floods to 192.0.2.1'], 'the all-zeros flood entries');
  t.ok(s.pass, 'PASS');
});
