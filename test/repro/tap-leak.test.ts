// §2 Ten thousand tap devices: neutron's naive loop leaks one DOWN device per
// try against a namespace handle that exists only as a file; pipewright's
// attach refuses from the first try, names the cause, and leaks nothing.
import t from 'tap';
import { runScenario } from '../helpers/repro';

t.test('tap-leak', async (t) => {
  const { s, old, pw } = await runScenario(t, 'tap-leak');
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
