// The engine's shared host handle (lib/ops/attach/host-handle.ts): attach and
// detach given no host handle use the shared one, never close it (a failed
// attach neither), and open (and close) their own when none is shared or the
// shared one was closed. Over the fake netlink transport.
import t from 'tap';
import { Handle } from '../../lib/core/handle';
import { Netns } from '../../lib/core/netns';
import { attach } from '../../lib/ops/attach';
import { detach } from '../../lib/ops/attach/detach';
import { shareHostHandle } from '../../lib/ops/attach/host-handle';
import { failAt, setFailpoint } from '../../lib/ops/transaction';
import { FakeTransport } from '../helpers/fake-transport';

/** Counts the sockets opened in the process's own namespace (fd -1). */
function countHostSockets(fake: FakeTransport): { readonly n: number } {
  const counter = { n: 0 };
  const open = fake.openSocket.bind(fake);
  fake.openSocket = async (nsfd: number) => {
    if (nsfd === -1) counter.n++;
    return open(nsfd);
  };
  return counter;
}

t.test('attach and detach use the shared host handle and leave it open', async (t) => {
  const fake = new FakeTransport();
  t.teardown(fake.install());
  const opened = countHostSockets(fake);
  const shared = await Handle.open();
  shareHostHandle(shared);
  t.teardown(() => shareHostHandle(null));
  const guest = await Netns.create({ name: 'g1' });
  const before = opened.n;
  const r = await attach({ hostIf: 'br0', guest, address: '10.0.0.3/24', gateway: '10.0.0.1' });
  t.equal(r.status, 'attached');
  setFailpoint(failAt('bring eth2 up'));
  const failed = await attach({ hostIf: 'br0', guest, guestIf: 'eth2', address: '10.0.0.4/24' }).then(() => null, (e: unknown) => e).finally(() => setFailpoint(undefined));
  t.ok(failed instanceof Error, 'the second attach failed (and was rolled back)');
  t.equal((await detach({ guest })).status, 'detached');
  t.equal(opened.n, before, 'no socket opened in the host namespace by any of them');
  t.notOk(shared.closed, 'the shared handle is still open');
  t.ok(await shared.link.find('br0'), 'and works');
  await guest.close();
  await shared.close();
});

t.test('without a shared handle, or with a closed one, each opens and closes its own', async (t) => {
  const fake = new FakeTransport();
  t.teardown(fake.install());
  const opened = countHostSockets(fake);
  const guest = await Netns.create({ name: 'g1' });
  const fds = fake.openFds;
  shareHostHandle(null);
  await attach({ hostIf: 'br0', guest, address: '10.0.0.3/24' });
  t.equal(opened.n, 1, 'nothing shared: its own');
  const shared = await Handle.open();
  shareHostHandle(shared);
  t.teardown(() => shareHostHandle(null));
  await shared.close();
  await detach({ guest });
  t.equal(opened.n, 3, 'the shared one closed: its own again');
  t.equal(fake.openFds, fds, 'no fd left open');
  await guest.close();
});

t.test('a missing guest is the error even when the host interface is missing too; nothing is left open', async (t) => {
  const fake = new FakeTransport();
  t.teardown(fake.install());
  const shared = await Handle.open();
  shareHostHandle(shared);
  t.teardown(() => shareHostHandle(null));
  const fds = fake.openFds;
  const both = await attach({ hostIf: 'eth9', guest: { name: 'nope' }, address: '10.0.0.3/24' }).then(() => null, (e: unknown) => e);
  t.match(both, { code: 'ERR_PW_NETNS_NOT_FOUND' }, 'the guest is named first, as when the lookups ran one after the other');
  await Netns.create({ name: 'g1' });
  const hostIf = await attach({ hostIf: 'eth9', guest: { name: 'g1' }, address: '10.0.0.3/24' }).then(() => null, (e: unknown) => e);
  t.match(hostIf, { code: 'ERR_PW_LINK_NOT_FOUND', field: 'hostIf' }, 'then the host interface');
  t.equal(fake.openFds, fds + 1, 'only the namespace made here is open: the guest opened for the attach was closed');
  t.notOk(shared.closed);
  await shared.close();
});
