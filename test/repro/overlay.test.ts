// §4 The hand-built overlay: the bridge and VXLAN topologies of the Swarm
// write-up, built with pipewright, traffic across both, nothing left after.
import t from 'tap';
import { runRepro, formatReport } from '../../lib/repro';

t.test('overlay', async (t) => {
  const report = await runRepro(['overlay'], { print: false });
  t.comment(formatReport(report));
  const s = report.scenarios[0]!;
  t.equal(s.error, undefined, 'the scenario ran to the end');
  const old = s.oldWay as Record<string, number>;
  const pw = s.pipewright as Record<string, number>;
  t.equal(old.failedCommands, 0, 'the hand-built version works here too');
  t.equal(pw.pingsOk, 5, 'guest to guest, guest to bridge, and container to container across VXLAN, both ways');
  t.equal(pw.pingsOk, pw.pings);
  t.equal(pw.leftovers, 0, 'torn down leaving nothing');
  t.same(s.details.fdb, ['hostA floods to 192.0.2.2', 'hostB floods to 192.0.2.1'], 'the all-zeros flood entries');
  t.ok(s.pass, 'PASS');
});
