// Netns.delete({ wait: true }) resolves only once the kernel has destroyed
// the namespace: the other ends of its veths are gone by then. Without
// wait it only lets go (documented). Something else holding it is
// ERR_PW_NETNS_BUSY at the deadline (issue 12, item 9).
import t from 'tap';
import { Handle, Netns, PipewrightError } from '../../lib';
import { withScene, uniqueName } from '../helpers/scene';

t.test('delete({ wait: true }): when it resolves, the veth peer in the observing namespace is gone', (t) =>
  withScene(t, async (s) => {
    for (let i = 0; i < 5; i++) {
      const ns = await Netns.create({ name: uniqueName('gone') });
      await s.host.link.add({ kind: 'veth', name: `vgone${i}`, peer: { name: 'eth0', netns: ns } });
      await ns.delete({ wait: true, from: s.host });
      t.equal(await s.host.link.find(`vgone${i}`), null, `round ${i}: the host end went with the namespace before delete() resolved`);
    }
  }),
);

t.test('an anonymous namespace, observed from the current namespace (the default)', async (t) => {
  const ns = await Netns.create();
  const h = await Handle.open(ns);
  await h.link.set('lo', { up: true });
  await h.close();
  await ns.delete({ wait: true });
  t.pass('resolved: the kernel reported the namespace destroyed');
});

t.test('something else still holds it: ERR_PW_NETNS_BUSY at the deadline; it goes once released', (t) =>
  withScene(t, async (s) => {
    const ns = await Netns.create({ name: uniqueName('held') });
    await s.host.link.add({ kind: 'veth', name: 'vheld', peer: { name: 'eth0', netns: ns } });
    const holder = await Netns.open({ path: ns.path! });
    const err = await ns.delete({ wait: true, from: s.host, timeoutMs: 300 }).catch((e: unknown) => e);
    t.ok(err instanceof PipewrightError, 'an error');
    t.equal((err as PipewrightError).code, 'ERR_PW_NETNS_BUSY');
    t.match((err as Error).message, /still alive .*something else holds it/);
    t.ok(await s.host.link.find('vheld'), 'rightly: its veth is still there');
    t.equal(ns.closed, true, 'our own reference is released anyway');
    // The other holder lets go: the namespace goes, observed the same way.
    const w = s.host.watch(['link']);
    await w.ready;
    const gone = w.waitFor((e) => e.kind === 'link' && e.action === 'del' && e.link.name === 'vheld', 20_000);
    await holder.close();
    await gone;
    t.equal(await s.host.link.find('vheld'), null, 'gone once the last holder let go');
  }),
);

t.test('options are checked', async (t) => {
  const ns = await Netns.create();
  await t.rejects(ns.delete({ wait: 'yes' as never }), { code: 'ERR_PW_INVALID_ARGUMENT' });
  await t.rejects(ns.delete({ bogus: 1 } as never), { code: 'ERR_PW_INVALID_ARGUMENT' });
  await ns.delete();
});
