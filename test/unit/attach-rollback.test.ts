// Attach plans and their rollback without a kernel: the library runs over the
// fake netlink transport (test/helpers/fake-transport.ts). Each step is made
// to fail in turn (the transaction's failpoint), and each kernel request in
// turn (a fault the transport injects): whatever the attach created must be
// undone, in reverse order, leaving links, addresses, routes, the journal and
// open fds exactly as they were.
import t from 'tap';
import { Handle } from '../../lib/core/handle';
import { Netns } from '../../lib/core/netns';
import { attach, attachUnsettled, planAttach, AttachError, type AttachResult } from '../../lib/ops/attach';
import type { AttachSpec } from '../../lib/ops/attach/spec';
import { failAt, setFailpoint } from '../../lib/ops/transaction';
import { FakeTransport } from '../helpers/fake-transport';
import { kernelError, type FakeNamespace } from '../helpers/fake-kernel';

interface Scene {
  fake: FakeTransport;
  host: Handle;
  guest: Netns;
  guestNs: FakeNamespace;
  spec: AttachSpec;
  close(): Promise<void>;
}

type Setup = (fake: FakeTransport, host: Handle) => Promise<Omit<AttachSpec, 'host' | 'guest'>>;

async function scene(setup: Setup): Promise<Scene> {
  const fake = new FakeTransport();
  const uninstall = fake.install();
  const host = await Handle.open();
  const guest = await Netns.create({ name: 'guest1' });
  const spec = { host, guest, ...(await setup(fake, host)) } as AttachSpec;
  return {
    fake, host, guest, guestNs: fake.named.get('guest1')!, spec,
    async close() {
      await host.close();
      await guest.close();
      uninstall();
    },
  };
}

const state = (s: Scene) => ({ host: s.fake.root.snapshot(), guest: s.guestNs.snapshot(), journal: [...s.fake.files.keys()].sort(), fds: s.fake.openFds });

const variants: Array<{ name: string; setup: Setup }> = [
  {
    name: 'a bridge the attach creates, an address and a gateway',
    setup: async () => ({ hostIf: 'br0', address: '10.0.0.3/24', gateway: '10.0.0.1', mac: '02:00:00:00:00:03' }),
  },
  {
    name: 'an existing bridge, the guest has a default route to replace',
    setup: async (fake, host) => {
      await host.link.add({ kind: 'bridge', name: 'br1', up: true });
      const g = fake.named.get('guest1')!;
      g.links.set(5, { index: 5, name: 'old0', kind: 'dummy', flags: 0, up: true, lowerUp: true, mtu: 1500, master: null, group: 0 });
      g.routes.push({ family: 4, dst: 'default', dstLen: 0, gateway: '192.0.2.1', dev: 5, table: 254, scope: 'universe', proto: 'boot', type: 'unicast', flags: 0, onlink: false });
      return { hostIf: 'br1', address: '10.0.0.3/24', gateway: '10.0.0.1' };
    },
  },
  {
    name: 'a macvlan on a lower device that is down',
    setup: async (_fake, host) => {
      await host.link.add({ kind: 'dummy', name: 'eth0', up: false });
      return { hostIf: 'eth0', address: '10.0.0.3/24' };
    },
  },
];

for (const variant of variants) {
  t.test(`${variant.name}: each step failing in turn is undone in reverse`, async (t) => {
    const s = await scene(variant.setup);
    t.teardown(() => s.close());
    const plan = await planAttach(s.spec);
    t.notOk(plan.alreadyInPlace);
    t.ok(plan.steps.length >= 4, `${plan.steps.length} steps planned: ${plan.steps.join(' | ')}`);
    const before = state(s);
    for (const [i, step] of plan.steps.entries()) {
      setFailpoint(failAt(step));
      let err: unknown;
      try {
        err = await attach(s.spec).then(() => null, (e: unknown) => e);
      } finally {
        setFailpoint(undefined);
      }
      t.ok(err instanceof AttachError, `fails after step ${i + 1} "${step}"`);
      const ae = err as AttachError;
      t.equal(ae.step, step, 'the error names the step');
      t.same(ae.leftBehind, [], 'every undo succeeded');
      // plan.undo is every undo in the order it would run: a rollback after
      // step i runs the undos of steps 0..i, which are its tail, in order.
      t.same(ae.undone, plan.undo.slice(plan.undo.length - ae.undone.length), 'undone in reverse order of creation');
      t.ok(ae.undone.length > 0 || i === 0 || !plan.steps.slice(0, i + 1).some((d) => d.startsWith('create')), 'something created was undone');
      t.same(state(s), before, 'links, addresses, routes, journal and fds exactly as before');
    }
    const ok: AttachResult = await attach(s.spec);
    t.equal(ok.status, 'attached', 'without the failpoint the same attach succeeds');
    t.equal(ok.steps.length, plan.steps.length, 'running every planned step');
    const done = state(s);
    t.equal((await attach(s.spec)).status, 'already-attached', 'and a re-run finds it in place');
    // Its journal entry was written beside the plan (bridge mode) and given up when the plan found the attachment in place.
    t.same(state(s), done, 'the re-run left the journal, the kernel and the fds as they were');
    // A re-run that conflicts (another address): refused by its plan, its entry given up too.
    const refused = await attach({ ...s.spec, address: '10.0.0.99/24' }).then(() => null, (e: unknown) => e);
    t.match(refused, { code: 'ERR_PW_CONFLICT' }, 'a different attachment of the same interface is a conflict');
    t.notMatch((refused as Error).message, /at work right now/, 'its own journal entry is not taken for another attach at work');
    t.same(state(s), done, 'and leaves everything as it was');
  });

  t.test(`${variant.name}: each kernel request failing in turn is undone`, async (t) => {
    // The requests a successful attach makes, in order: the places a fault can strike.
    const clean = await scene(variant.setup);
    const from = clean.fake.log.length;
    await attach(clean.spec);
    const requests = clean.fake.log.slice(from).map((r) => r.op);
    await clean.close();
    const mutating = requests.filter((op) => /\.(add|set|replace|del|announce)$/.test(op));
    t.ok(mutating.length >= 4, `${mutating.length} changing requests: ${mutating.join(', ')}`);
    const seen = new Map<string, number>();
    for (const op of mutating) {
      const nth = (seen.get(op) ?? 0) + 1;
      seen.set(op, nth);
      const s = await scene(variant.setup);
      const before = state(s);
      s.fake.failNth(op, nth, 'ENOMEM');
      const err = await attach(s.spec).then(() => null, (e: unknown) => e);
      t.ok(err instanceof Error, `${op} #${nth} failing fails the attach`);
      t.match((err as Error).message, /ENOMEM/, 'with the kernel error');
      if (err instanceof AttachError) t.same(err.leftBehind, [], `${op} #${nth}: every undo succeeded`);
      t.same(state(s), before, `${op} #${nth}: everything as before`);
      await s.close();
    }
  });
}

t.test('a rollback that cannot undo something says what was left behind', async (t) => {
  const s = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.3/24' }));
  t.teardown(() => s.close());
  setFailpoint(failAt('bring eth1 up'));
  // The bridge's undo lists its ports; make that fail.
  s.fake.failWhen((call) => (call.op === 'link.list' && 'master' in call.args ? new Error('list refused') : undefined));
  const err = await attach(s.spec).then(() => null, (e: unknown) => e).finally(() => setFailpoint(undefined));
  t.ok(err instanceof AttachError);
  t.match((err as AttachError).leftBehind, [/delete bridge br0 \(failed: list refused\)/]);
  t.match((err as AttachError).message, /LEFT BEHIND/);
  t.ok(s.fake.root.byName('br0'), 'the bridge is indeed still there');
  t.same(s.fake.root.snapshot().links.map((l) => l.split(' ')[0]), ['br0', 'lo'], 'but not the veth: its undo ran first');
});

t.test("the guest's address, link up and default route go to the kernel in one hop", async (t) => {
  const s = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.3/24', gateway: '10.0.0.1' }));
  t.teardown(() => s.close());
  const r = await attach(s.spec);
  t.equal(r.status, 'attached');
  t.match(r.steps, [/create bridge/, /create veth/, /add 10\.0\.0\.3\/24/, /make no IPv6 link-local address on eth1/, /bring eth1 up/, /set the default route/, /verify/], 'each step reported as before');
  const hops = s.fake.hops.map((h) => h.join(','));
  // Verification's reads of the guest ride at the end of that hop, after the three (transaction.ts ReadAhead).
  const at = hops.indexOf('addr.add,link.set,link.set,route.add,link.get,addr.list,route.list');
  t.ok(at >= 0, `one hop carries the three (the link's IPv6 mode before its up), then the verification's reads in the guest (hops: ${hops.join(' | ')})`);
  t.notOk(hops.includes('link.get,addr.list,route.list'), 'the guest is not read again in a hop of its own');
  // An announcement follows, which judges the host end's port state: the host end is read after that hop.
  t.notOk(hops.slice(hops.lastIndexOf('link.add'), at).includes('link.get'), 'the host end is not read before the guest end is up');
  t.ok(hops.slice(at + 1).includes('link.get'), 'but after it');
});

t.test("without an announcement too, the host end is read only once the guest end is up", async (t) => {
  // A new veth's host end read before its peer is up makes the kernel run its pending carrier-off work (design-notes).
  const q = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.4/24', gateway: '10.0.0.1', arp: false }));
  t.teardown(() => q.close());
  const r2 = await attach(q.spec);
  t.equal(r2.status, 'attached');
  const hops2 = q.fake.hops.map((h) => h.join(','));
  const at2 = hops2.indexOf('addr.add,link.set,link.set,route.add,link.get,addr.list,route.list');
  t.ok(at2 >= 0, `the three and the guest's reads in one hop (hops: ${hops2.join(' | ')})`);
  t.notOk(hops2.slice(hops2.lastIndexOf('link.add'), at2).includes('link.get'), 'the host end is not read between its creation and that hop');
  t.same(hops2.slice(at2 + 1), ['link.get'], 'but once, after it');
  t.same(r2.hostEnd && { up: r2.hostEnd.up, master: r2.hostEnd.master }, { up: true, master: r2.hostIf.index }, 'judged from that read');
});

t.test('verification reads the guest alone, read by read, when its batch fails, and judges the same', async (t) => {
  const s = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.3/24', gateway: '10.0.0.1' }));
  t.teardown(() => s.close());
  let batches = 0;
  // The reads that rode the guest's hop fail, then their own batch does (a link gone between two of its reads looks
  // like this): each read alone then succeeds. The requests before them in that hop are done, not undone.
  s.fake.failWhen((call) => (call.op === 'route.list' && ++batches <= 2 ? Object.assign(new Error('interrupted'), { code: 'EINTR' }) : undefined));
  const r = await attach(s.spec);
  t.equal(r.status, 'attached');
  t.same(r.guest.addresses, ['10.0.0.3/24']);
  t.equal(batches, 3, 'the routes read in the hop, in their own batch, then alone');
  t.match(r.steps, [/create bridge/, /create veth/, /add 10\.0\.0\.3\/24/, /make no IPv6 link-local address on eth1/, /bring eth1 up/, /set the default route/, /verify/], 'every step done once');
});
t.test("attachUnsettled: the caller's addresses and routes ride the guest's hop, are verified, the bridge is read beside it and the host end after it", async (t) => {
  const s = await scene(async (_fake, host) => {
    await host.link.add({ kind: 'bridge', name: 'br2', up: true });
    return { hostIf: 'br2', address: '0/0', arp: false };
  });
  t.teardown(() => s.close());
  const settings = Promise.resolve({
    addresses: [{ family: 4 as const, address: '10.0.0.5', prefixLen: 24, broadcast: '10.0.0.255' }],
    routes: [{ dst: '10.50.0.0/16', gateway: '10.0.0.1' }],
  });
  const { result, settled, links } = await attachUnsettled(s.spec, { guestSettings: settings, readHostIf: true });
  await settled;
  t.equal(result.status, 'attached');
  t.same(result.guest.addresses, ['10.0.0.5/24'], 'verified as read back');
  const hops = s.fake.hops.map((h) => h.join(','));
  t.ok(hops.includes('link.set,link.set,addr.replace,route.replace,link.get,addr.list'), `the link's IPv6 mode, up, the address, the route, then the reads: one hop (hops: ${hops.join(' | ')})`);
  const at = hops.indexOf('link.set,link.set,addr.replace,route.replace,link.get,addr.list');
  t.same(hops.slice(hops.lastIndexOf('link.add') + 1, at), ['link.get'], 'the bridge read beside it (and nothing else: the host end is not read before the guest end is up)');
  t.same(hops.slice(at + 1), ['link.get'], 'the host end read once, after it');
  t.equal(links.hostIf?.name, 'br2');
  t.equal(links.hostEnd?.master, links.hostIf?.index);
  t.ok(s.guestNs.snapshot().routes.some((r) => r.startsWith('10.50.0.0/16 via=10.0.0.1 ')), `the route is in the guest: ${s.guestNs.snapshot().routes.join('; ')}`);
});

t.test('attachUnsettled: settings that cannot be had fail the attach with their error, and leave nothing', async (t) => {
  const q = await scene(async (_fake, host) => {
    await host.link.add({ kind: 'bridge', name: 'br3', up: true });
    return { hostIf: 'br3', address: '0/0', arp: false };
  });
  t.teardown(() => q.close());
  const before = state(q);
  const err = await attachUnsettled(q.spec, { guestSettings: Promise.reject(new Error('no address for you')) }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof AttachError, String(err));
  t.match((err as Error).message, /add the caller's addresses and routes.*no address for you/);
  t.same(state(q), before, 'links, addresses, routes, journal and fds as they were');
});

t.test("an IPv4-only guest interface is told to make no IPv6 link-local address before it comes up; otherwise it keeps it", async (t) => {
  // What the kernel was asked, recorded at the boundary.
  // What the kernel was asked, recorded at the boundary: each link.set that
  // sets the mode or brings a link up, with the hop it rode in.
  const recordSets = (s: Scene) => {
    const sets: Array<{ what: string; hop: number }> = [];
    s.fake.failWhen((call) => {
      if (call.op !== 'link.set') return undefined;
      const a = call.args as { ipv6AddrGenMode?: string; up?: boolean };
      if (a.ipv6AddrGenMode !== undefined) sets.push({ what: `mode ${a.ipv6AddrGenMode}`, hop: s.fake.hops.length - 1 });
      else if (a.up === true) sets.push({ what: 'up', hop: s.fake.hops.length - 1 });
      return undefined;
    });
    return sets;
  };
  const cases: Array<[string, Omit<AttachSpec, 'host' | 'guest'>, string[]]> = [
    ['an IPv4 address', { hostIf: 'br0', address: '10.0.0.3/24' }, ['none']],
    ['an IPv4 address, ipv6LinkLocal: true', { hostIf: 'br0', address: '10.0.0.3/24', ipv6LinkLocal: true }, []],
    ['an IPv6 address', { hostIf: 'br0', address: 'fd00::3/64' }, []],
    ['no address', { hostIf: 'br0', address: '0/0' }, []],
    ['no address, ipv6LinkLocal: false', { hostIf: 'br0', address: '0/0', ipv6LinkLocal: false }, ['none']],
  ];
  for (const [name, spec, expected] of cases) {
    const s = await scene(async () => spec);
    const sets = recordSets(s);
    const r = await attach(s.spec);
    t.equal(r.status, 'attached', name);
    const modes = sets.filter((x) => x.what.startsWith('mode ')).map((x) => x.what.slice(5));
    t.same(modes, expected, `${name}: ${expected.length ? 'told to make none' : 'left as the kernel makes it'}`);
    if (expected.length) {
      const mode = sets.findIndex((x) => x.what.startsWith('mode '));
      const up = sets.findIndex((x) => x.what === 'up');
      t.ok(mode >= 0 && up === mode + 1 && sets[up]!.hop === sets[mode]!.hop, `${name}: just before the up, in the same hop (${JSON.stringify(sets)})`);
    }
    await s.close();
  }
});

t.test('a guest kernel without IPv6 for the interface (EAFNOSUPPORT): the attach goes on without it', async (t) => {
  const s = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.3/24', gateway: '10.0.0.1' }));
  t.teardown(() => s.close());
  s.fake.failWhen((call) => (call.op === 'link.set' && 'ipv6AddrGenMode' in call.args ? kernelError('EAFNOSUPPORT', 'link.set') : undefined));
  const r = await attach(s.spec);
  t.equal(r.status, 'attached');
  t.same(r.guest.addresses, ['10.0.0.3/24'], 'addressed, up and routed all the same');
});
