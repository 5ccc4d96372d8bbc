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
import { failAt, requestStep, runSteps, setFailpoint, StepError, type Step } from '../../lib/ops/transaction';
import type { OpCall } from '../../lib/core/op-types';
import { FakeTransport } from '../helpers/fake-transport';
import type { FakeNamespace } from '../helpers/fake-kernel';

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

t.test('runSteps undoes the completed steps in reverse, and only those', async (t) => {
  for (let failing = 0; failing < 4; failing++) {
    const done: string[] = [];
    const steps: Array<Step<null>> = [0, 1, 2, 3].map((i) => ({
      describe: `step ${i}`,
      undo: `undo ${i}`,
      run: async () => {
        if (i === failing) throw new Error(`step ${i} broke`);
        done.push(`do ${i}`);
        return async () => {
          done.push(`undo ${i}`);
        };
      },
    }));
    const err = await runSteps(steps, null).then(() => null, (e: unknown) => e);
    t.ok(err instanceof StepError);
    const expected = [...Array(failing).keys()].map((i) => `undo ${i}`).reverse();
    t.same((err as StepError).rollback.undone, expected, `failing at ${failing}: undone ${expected.join(', ') || 'nothing'}`);
    t.same(done, [...[...Array(failing).keys()].map((i) => `do ${i}`), ...expected]);
  }
});

t.test("the guest's address, link up and default route go to the kernel in one hop", async (t) => {
  const s = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.3/24', gateway: '10.0.0.1' }));
  t.teardown(() => s.close());
  const r = await attach(s.spec);
  t.equal(r.status, 'attached');
  t.match(r.steps, [/create bridge/, /create veth/, /add 10\.0\.0\.3\/24/, /bring eth1 up/, /set the default route/, /verify/], 'each step reported as before');
  const hops = s.fake.hops.map((h) => h.join(','));
  // Verification's reads of the guest ride at the end of that hop, after the three (transaction.ts ReadAhead).
  const at = hops.indexOf('addr.add,link.set,route.add,link.get,addr.list,route.list');
  t.ok(at >= 0, `one hop carries the three, then the verification's reads in the guest (hops: ${hops.join(' | ')})`);
  t.notOk(hops.includes('link.get,addr.list,route.list'), 'the guest is not read again in a hop of its own');
  // An announcement follows, which judges the host end's port state: the host end is read after that hop.
  t.notOk(hops.slice(hops.lastIndexOf('link.add'), at).includes('link.get'), 'the host end is not read before the guest end is up');
  t.ok(hops.slice(at + 1).includes('link.get'), 'but after it');
});

t.test("without an announcement, the host end's read-back goes beside the guest's hop", async (t) => {
  // The last lone link.get before that hop, after the veth was made.
  const q = await scene(async () => ({ hostIf: 'br0', address: '10.0.0.4/24', gateway: '10.0.0.1', arp: false }));
  t.teardown(() => q.close());
  const r2 = await attach(q.spec);
  t.equal(r2.status, 'attached');
  const hops2 = q.fake.hops.map((h) => h.join(','));
  const at2 = hops2.indexOf('addr.add,link.set,route.add,link.get,addr.list,route.list');
  t.ok(at2 >= 0, `the three and the guest's reads in one hop (hops: ${hops2.join(' | ')})`);
  t.ok(hops2.slice(hops2.lastIndexOf('link.add'), at2).includes('link.get'), "the host end's read-back went beside that hop");
  t.notOk(hops2.slice(at2 + 1).includes('link.get'), 'and is not read again');
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
  t.match(r.steps, [/create bridge/, /create veth/, /add 10\.0\.0\.3\/24/, /bring eth1 up/, /set the default route/, /verify/], 'every step done once');
});

/** A fake handle for the runner: records each hop's tags (as `name:tag` when named), refuses the op tagged failing(), answers `tag!` (after done(tag)). */
function taggedTarget(hops: string[][], failing: () => string | null, name = '', done?: (tag: string) => void) {
  return {
    async runBatch(ops: readonly OpCall[]) {
      hops.push(ops.map((o) => `${name ? `${name}:` : ''}${(o.args as { tag: string }).tag}`));
      const results: unknown[] = [];
      for (const [i, o] of ops.entries()) {
        const tag = (o.args as { tag: string }).tag;
        if (tag === failing()) throw Object.assign(new Error(`${tag} refused`), { completed: results, failedIndex: i });
        done?.(tag);
        results.push(`${tag}!`);
      }
      return results;
    },
  };
}

/** Steps of one request each through a fake handle that records its hops and fails the op named `failing`. */
function requestSteps(failing: string | null, log: string[], recover?: () => Promise<() => Promise<void>>) {
  const hops: string[][] = [];
  const via = taggedTarget(hops, () => failing, '', (tag) => log.push(`do ${tag}`));
  const req = (tag: string): Step<null> =>
    requestStep({ describe: tag, request: () => ({ via, call: { op: 'link.set', args: { tag } } as unknown as OpCall, ...(tag === 'b' && recover ? { failed: recover } : {}) }) });
  const steps: Array<Step<null>> = [
    {
      describe: 'make',
      undo: 'remove',
      run: async () => {
        log.push('make');
        return async () => void log.push('remove');
      },
    },
    req('a'),
    req('b'),
    req('c'),
    { describe: 'last', run: async () => void log.push('last') },
  ];
  return { steps, hops };
}

t.test('runSteps sends consecutive requests in one hop; a failure inside it is its own step', async (t) => {
  const log: string[] = [];
  const ok = requestSteps(null, log);
  t.same((await runSteps(ok.steps, null)).completed, ['make', 'a', 'b', 'c', 'last']);
  t.same(ok.hops, [['a', 'b', 'c']], 'a, b and c in one hop');

  log.length = 0;
  const bad = requestSteps('b', log);
  const err = await runSteps(bad.steps, null).then(() => null, (e: unknown) => e);
  t.ok(err instanceof StepError);
  t.equal((err as StepError).step, 'b', 'the step whose request failed');
  t.match((err as StepError).cause, { message: 'b refused' });
  t.same((err as StepError).rollback.undone, ['remove'], 'what came before is undone');
  t.same(log, ['make', 'do a', 'remove'], 'c and last never ran');

  // A step that handles its own failure (the default route's EEXIST): its undo counts, the rest go on in a new hop.
  log.length = 0;
  const recovered = requestSteps('b', log, async () => {
    log.push('recover b');
    return async () => void log.push('undo b');
  });
  t.same((await runSteps(recovered.steps, null)).completed, ['make', 'a', 'b', 'c', 'last']);
  t.same(recovered.hops, [['a', 'b', 'c'], ['c']], 'c sent again, alone, after b recovered');
  t.same(log, ['make', 'do a', 'recover b', 'do c', 'last']);

  // The failpoint fires after a batched step as after any other: b's recovery undone, then make's.
  log.length = 0;
  const again = requestSteps('b', log, async () => async () => void log.push('undo b'));
  setFailpoint(failAt('c'));
  const injected = await runSteps(again.steps, null).then(() => null, (e: unknown) => e).finally(() => setFailpoint(undefined));
  t.equal((injected as StepError).step, 'c');
  t.same((injected as StepError).rollback.undone, ['undo: b', 'remove']);
});

t.test("runSteps asks a step's reads with the batch before it: riding its hop, or beside it; kept only when the batch succeeded", async (t) => {
  const target = (name: string, hops: string[][], failing: () => string | null) => taggedTarget(hops, failing, name);
  let failing: string | null = null;
  const hops: string[][] = [];
  const g = target('g', hops, () => failing);
  const h = target('h', hops, () => failing);
  const call = (tag: string) => ({ op: 'link.get', args: { tag } }) as unknown as OpCall;
  const kept: Array<{ ride: unknown[] | null | undefined; beside: unknown[] | null | undefined }> = [];
  const steps = (lone = false): Array<Step<null>> => {
    const seen: { ride?: unknown[] | null; beside?: unknown[] | null } = {};
    return [
      requestStep({ describe: 'up', request: () => ({ via: g, call: call('up') }) }),
      ...(lone ? [{ describe: 'lone', run: async () => undefined }] : []),
      {
        describe: 'check',
        readAhead: () => [
          { via: g, calls: [call('r1'), call('r2')], keep: (r) => (seen.ride = r) },
          { via: h, calls: [call('he')], keep: (r) => (seen.beside = r) },
        ],
        run: async () => void kept.push({ ride: seen.ride, beside: seen.beside }),
      },
    ];
  };

  t.same((await runSteps(steps(), null)).completed, ['up', 'check']);
  t.same(hops, [['h:he'], ['g:up', 'g:r1', 'g:r2']], 'the reads for the same handle ride after the request; the other goes beside');
  t.same(kept.pop(), { ride: ['r1!', 'r2!'], beside: ['he!'] }, 'each answer kept for the step');

  // A read that fails after the request succeeded: the request's step is done; the step gets null and reads for itself.
  hops.length = 0;
  failing = 'r2';
  t.same((await runSteps(steps(), null)).completed, ['up', 'check']);
  t.same(kept.pop(), { ride: null, beside: ['he!'] });

  // The request fails: nothing read is kept, and nothing runs past the rollback.
  failing = 'up';
  const err = await runSteps(steps(), null).then(() => null, (e: unknown) => e);
  t.equal((err as StepError).step, 'up');
  t.equal(kept.length, 0, 'check never ran');

  // Not just after a batch (a step without a request between): no read ahead; the step reads for itself.
  failing = null;
  hops.length = 0;
  t.same((await runSteps(steps(true), null)).completed, ['up', 'lone', 'check']);
  t.same(hops, [['g:up']], 'the request alone in its hop');
  t.same(kept.pop(), { ride: undefined, beside: undefined });
});

t.test('runSteps: a step of several requests waits for what it needs (ready), joins the hop, and a failure inside it is its own', async (t) => {
  const hops: string[][] = [];
  let failing: string | null = null;
  const g = taggedTarget(hops, () => failing);
  const call = (tag: string) => ({ op: 'link.get', args: { tag } }) as unknown as OpCall;
  const log: string[] = [];
  const steps = (settings: Promise<string[]>): Array<Step<null>> => {
    let known: string[] | undefined;
    const ready = () => settings.then((s) => (known = s));
    ready().catch(() => undefined);
    return [
      {
        describe: 'create',
        run: async () => {
          log.push('create');
          return async () => void log.push('undo create');
        },
      },
      requestStep({ describe: 'up', request: () => ({ via: g, call: call('up') }) }),
      {
        describe: 'settings',
        ready,
        request: () => {
          if (!known) throw new Error('not known');
          return { via: g, calls: known.map(call) };
        },
        run: async () => {
          const s = await ready();
          if (s.length) await g.runBatch(s.map(call));
        },
      },
      { describe: 'check', readAhead: () => [{ via: g, calls: [call('r1')], keep: () => undefined }], run: async () => undefined },
    ];
  };
  const later = <T>(v: T) => new Promise<T>((r) => setImmediate(() => r(v)));

  // Known only after the runner got to the hop: it waited, then sent all of it at once.
  t.same((await runSteps(steps(later(['a1', 'a2'])), null)).completed, ['create', 'up', 'settings', 'check']);
  t.same(hops, [['up', 'a1', 'a2', 'r1']], "the request, the step's two, then the reads: one hop");

  // Nothing to add: the step still belongs to the hop, with no request of its own.
  hops.length = 0;
  t.same((await runSteps(steps(later([])), null)).completed, ['create', 'up', 'settings', 'check']);
  t.same(hops, [['up', 'r1']]);

  // The second of its requests refused: 'up' completed, the step failed, the rollback ran.
  hops.length = 0;
  log.length = 0;
  failing = 'a2';
  const refused = await runSteps(steps(later(['a1', 'a2'])), null).then(() => null, (e: unknown) => e);
  t.ok(refused instanceof StepError);
  t.equal((refused as StepError).step, 'settings', 'the failure is the step whose request failed');
  t.same(log, ['create', 'undo create']);

  // What it waits for fails: the requests before it go in their own hop, then it fails alone, with that error.
  hops.length = 0;
  log.length = 0;
  failing = null;
  const gone = await runSteps(steps(Promise.reject(new Error('IPAM said no'))), null).then(() => null, (e: unknown) => e);
  t.equal((gone as StepError).step, 'settings');
  t.match(((gone as StepError).cause as Error).message, 'IPAM said no');
  t.same(hops, [['up']], 'nothing of it was sent');
  t.same(log, ['create', 'undo create']);
});

t.test("attachUnsettled: the caller's addresses and routes ride the guest's hop, are verified, and the bridge is read beside it", async (t) => {
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
  t.ok(hops.includes('link.set,addr.replace,route.replace,link.get,addr.list'), `up, the address, the route, then the reads: one hop (hops: ${hops.join(' | ')})`);
  t.ok(hops.includes('link.get,link.get'), 'the host end and the bridge read in one hop beside it');
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
