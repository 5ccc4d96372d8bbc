// §1 The veth that never joined the bridge: the operator's script under an
// interfering agent ends with un-enslaved ports and exit 0; pipewright ends
// with every port enslaved and up, or names the ones that are not.
import t from 'tap';
import { runScenario } from '../helpers/repro';

t.test('veth-bridge-race', async (t) => {
  const { s, old, pw } = await runScenario(t, 'veth-bridge-race');
  t.equal(old.ports, 81, 'veths 10..90');
  t.ok(old.agentNotEnslaved! > 0, `the old way left ${old.agentNotEnslaved} ports un-enslaved under the agent`);
  t.equal(old.scriptExit, 0, 'and its script still exited 0');
  t.ok(pw.agentActions! > 0, 'the agent acted on pipewright ports too');
  t.equal(pw.silentlyBroken, 0, 'pipewright reported no broken port as attached');
  t.equal(pw.unaccounted, 0, 'every port enslaved and up, or reported as failed by name');
  t.equal(pw.repairs, pw.incidents, 'every incident was repaired');
  if (s.skipped?.length) t.comment(`skipped: ${s.skipped.join('; ')}`);
  else {
    t.ok(old.networkdRestartEnslaved! < 81, `systemd-networkd released ${81 - old.networkdRestartEnslaved!} of the old way's ports`);
    t.ok(pw.networkdReleases! > 0, 'and released pipewright ports as well');
    t.equal(pw.networkdSilentlyBroken, 0, 'which pipewright repaired or reported');
    t.equal(pw.networkdUnaccounted, 0);
    t.equal(pw.networkdEnslaved, 81, 'ending with all 81 enslaved');
  }
  t.ok(s.pass, 'PASS');
});
