// How attach() opens what it works with (lib/ops/attach/index.ts, open()):
// the guest's resolution and the host interface's lookup run side by side,
// yet a failure is named as when they ran one after the other (the guest
// first), and nothing opened for the attach stays open. Over the fake
// netlink transport.
import t from 'tap';
import { Handle } from '../../lib/core/handle';
import { Netns } from '../../lib/core/netns';
import { attach } from '../../lib/ops/attach';
import { FakeTransport } from '../helpers/fake-transport';

for (const given of [true, false]) {
  t.test(`a missing guest is the error even when the host interface is missing too (host handle ${given ? 'given' : 'opened by the attach'}); nothing is left open`, async (t) => {
    const fake = new FakeTransport();
    t.teardown(fake.install());
    const host = given ? await Handle.open() : undefined;
    const fds = fake.openFds;
    const both = await attach({ ...(host ? { host } : {}), hostIf: 'eth9', guest: { name: 'nope' }, address: '10.0.0.3/24' }).then(() => null, (e: unknown) => e);
    t.match(both, { code: 'ERR_PW_NETNS_NOT_FOUND' }, 'the guest is named first');
    const made = await Netns.create({ name: 'g1' });
    const hostIf = await attach({ ...(host ? { host } : {}), hostIf: 'eth9', guest: { name: 'g1' }, address: '10.0.0.3/24' }).then(() => null, (e: unknown) => e);
    t.match(hostIf, { code: 'ERR_PW_LINK_NOT_FOUND', field: 'hostIf' }, 'then the host interface');
    t.equal(fake.openFds, fds + 1, 'only the namespace made here is open: the guest opened for the attach was closed');
    if (host) t.notOk(host.closed, "the caller's handle is left open");
    await made.close();
    await host?.close();
  });
}
