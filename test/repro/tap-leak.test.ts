// §2 Ten thousand tap devices: neutron's naive loop leaks one DOWN device per
// try against a namespace handle that exists only as a file; pipewright's
// attach refuses from the first try, names the cause, and leaks nothing.
// Where no tap can be made (an unprivileged user namespace), the loop leaks
// veth pairs instead, and the report says what the probe found.
import t from 'tap';
import { runScenario } from '../helpers/repro';
import { probeTap } from '../../lib/ops/repro/leak-device';

t.test('tap-leak', async (t) => {
  const { s, old, pw } = await runScenario(t, 'tap-leak');
  const noTap = await probeTap();
  if (noTap) t.comment(`veth pairs instead of taps: ${noTap}`);
  t.equal(s.details.device, noTap ? 'veth' : 'tap', 'taps wherever the probe could make one');
  t.same(s.skipped ?? [], noTap ? [`tap devices: ${noTap}; the loop made veth pairs instead, which leak the same way`] : [], 'the report names what the probe found');
  for (const h of ['plain', 'unmounted', 'otherMountNs']) {
    t.equal(old[`${h}Leaked`], 50, `old way, ${h}: 50 tries leak 50 DOWN devices`);
    t.equal(pw[`${h}Leaked`], 0, `pipewright, ${h}: nothing leaked`);
    t.equal(pw[`${h}Refused`], 50, `pipewright, ${h}: every try refused`);
    t.match(String(s.details[`${h}PipewrightError`]), /^ERR_PW_NOT_A_NETNS: .*(nsfs|network namespace)/, `pipewright, ${h}: the error names the cause`);
  }
  t.equal(old.leaked, 150);
  t.equal(pw.leaked, 0);
  t.ok(s.pass, 'PASS');
});
