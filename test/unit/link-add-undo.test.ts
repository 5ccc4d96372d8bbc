// link.add of a link made directly in another namespace (`netns`) sets its
// alias there in a second request, since the kernel ignores an alias at
// creation. If that request fails, the call fails and the link it made is
// gone; nothing else in that namespace is touched. Over the fake netlink
// transport, which injects the failure (a live kernel will not refuse an
// alias it was just able to take).
import t from 'tap';
import { Handle } from '../../lib/core/handle';
import { Netns } from '../../lib/core/netns';
import { FakeTransport } from '../helpers/fake-transport';

t.test('an alias that cannot be set in the other namespace: the call fails and the link it made is gone', async (t) => {
  const fake = new FakeTransport();
  t.teardown(fake.install());
  const host = await Handle.open();
  const ns = await Netns.create({ name: 'elsewhere' });
  const there = await Handle.open(ns);
  await there.link.add({ kind: 'bridge', name: 'decoy0', alias: 'not ours' });
  const before = fake.nsOf(ns.fd).snapshot();
  const hostBefore = fake.root.snapshot();

  fake.failWhen((call) => (call.op === 'link.set' && 'alias' in call.args ? new Error('injected: the alias was refused') : undefined));
  await t.rejects(host.link.add({ kind: 'bridge', name: 'br7', alias: 'pipewright:test', netns: ns }), /injected: the alias was refused/, 'the failure is the one reported');
  t.same(fake.nsOf(ns.fd).snapshot(), before, 'the namespace is as it was: br7 gone, the decoy untouched');
  t.same(fake.root.snapshot(), hostBefore, 'nothing was made in the caller’s namespace either');

  fake.clearFaults();
  const made = await host.link.add({ kind: 'bridge', name: 'br7', alias: 'pipewright:test', netns: ns });
  t.match(made, { name: 'br7', alias: 'pipewright:test' }, 'once the alias can be set, the same call succeeds with it');
  await there.close();
  await ns.close();
  await host.close();
});
