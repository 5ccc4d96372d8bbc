// §5 Retry storms don't accumulate: 200 failing attaches (each step of the
// plan in turn, and real faults) leave links, addresses, routes, mounts,
// namespaces and fds exactly as they were; pipework's sequence does not.
import t from 'tap';
import { runScenario } from '../helpers/repro';

t.test('retry-storm', async (t) => {
  const { s, old, pw } = await runScenario(t, 'retry-storm');
  t.ok(pw.faults! >= 8, `${pw.faults} faults: every planned step plus the real ones`);
  t.equal(pw.attempts, pw.faults! * 20, '20 tries each');
  t.equal(pw.leftovers, 0, 'nothing changed');
  for (const k of ['links', 'addrs', 'routes', 'mounts', 'namedNetns', 'netnsFds', 'fds', 'guestLinks', 'guestRoutes'])
    t.equal(pw[`${k}After`], pw[`${k}Before`], `${k}: ${pw[`${k}Before`]} before, ${pw[`${k}After`]} after`);
  t.ok(old.leftovers! > 0, `the old way left ${old.leftovers} objects behind`);
  t.ok(s.pass, 'PASS');
});
