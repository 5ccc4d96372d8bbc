// A link's deletion waits in the kernel for the device's teardown (RCU)
// after the change is made: the addon runs deletions on threads of their
// own (native/executor.h), so deletions in several namespaces wait side by
// side and other requests do not queue behind them; one handle's requests
// still run in the order they were asked.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { withScene } from '../helpers/scene';
import { Handle } from '../../lib';

/** The names of this process's threads (/proc/self/task/N/comm). */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return ''; // a thread that ended while we looked
    }
  });
}

t.test('one handle: requests sent without waiting run in the order asked around deletions', (t) =>
  withScene(t, async ({ host }) => {
    // Not awaited one by one: each must see what the one before it did.
    const made = host.link.add({ kind: 'veth', name: 'va', peer: { name: 'vb' } });
    const gone = host.link.del('va');
    const after = host.link.find('va');
    const again = host.link.add({ kind: 'veth', name: 'va', peer: { name: 'vb' } });
    const seen = host.link.find('vb');
    const goneAgain = host.link.del('vb');
    const last = host.link.find('va');
    t.equal((await made)?.name, 'va');
    await gone;
    t.equal(await after, null, 'a request asked after a deletion sees it done');
    t.equal((await again)?.name, 'va', 'the name is free again for the next add');
    t.equal((await seen)?.name, 'vb', 'the lookup ran after that add');
    await goneAgain;
    t.equal(await last, null, 'and after the second deletion');
  }),
);

t.test('deletions in several namespaces run beside each other and beside the routing thread', (t) =>
  withScene(t, async (s) => {
    const guests = await Promise.all(Array.from({ length: 8 }, () => s.guest()));
    await Promise.all(guests.map((g, i) => s.host.link.add({ kind: 'veth', name: `vh${i}`, peer: { name: 'eth0', netns: g.ns } })));
    const order: string[] = [];
    const dels = guests.map((g, i) => g.handle.link.del('eth0').then(() => order.push(`del ${i}`)));
    // Asked after every deletion: on one thread it would be answered after them all.
    const lookup = s.host.link.get('lo').then(() => order.push('lookup'));
    await Promise.all([...dels, lookup]);
    t.not(order.indexOf('lookup'), order.length - 1, `a lookup in another namespace is answered before the last deletion is (${order.join(', ')})`);
    t.ok(threadNames().filter((n) => n === 'pw-unlink').length >= 2, 'the deletions had threads of their own');
    for (const [i, g] of guests.entries()) {
      t.equal(await g.handle.link.find('eth0'), null, `guest ${i}'s end is gone`);
      t.equal(await s.host.link.find(`vh${i}`), null, `and host end vh${i} with it`);
    }
  }),
);

t.test('a call asked before close, waiting behind a deletion, still runs', (t) =>
  withScene(t, async (s) => {
    const h = await Handle.open(s.hostNs);
    await h.link.add({ kind: 'veth', name: 'vc', peer: { name: 'vd' } });
    const gone = h.link.del('vc');
    const after = h.link.find('vd');
    await h.close();
    await gone;
    t.equal(await after, null, 'answered, after the deletion');
    t.equal(h.closed, true);
  }),
);
