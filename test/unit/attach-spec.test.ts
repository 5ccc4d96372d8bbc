// One spec builder for every way of asking for an attach (issue 13, part C):
// the command line's positional and named forms, a batch line, a batch JSON
// plan and the library call produce the same frozen spec, with the address
// and gateway carried parsed; planning reads it and writes nothing to it.
// Pure: no privileges, nothing reaches the kernel (planning runs on a fake
// handle that finds nothing).
import t from 'tap';
import { buildSpec, isBuiltSpec, withRefs, type AttachSpec, type NormalizedSpec } from '../../lib/ops/attach/spec';
import { parsePipeworkArgs } from '../../lib/cli/pipework-args';
import { attachFromOptions } from '../../lib/cli/commands/attach';
import { batchSpecs } from '../../lib/cli/commands/batch';
import { makePlan } from '../../lib/ops/attach/plan';
import { hostEndName } from '../../lib/ops/attach/names';
import type { Ctx } from '../../lib/ops/attach/context';

type Forms = Record<'positional' | 'named' | 'batch line' | 'batch JSON' | 'library', NormalizedSpec>;

function specOf(p: ReturnType<typeof parsePipeworkArgs>): NormalizedSpec {
  if (p.kind !== 'attach') throw new Error(`not an attach: ${p.kind}`);
  return p.spec;
}

/** One attach, asked for five ways. */
function staticForms(): Forms {
  const argv = ['-i', 'eth2', '-l', 'vh2', 'eth0', 'web1', '10.0.0.3/24@10.0.0.1', 'U:web1@10', '--mtu', '1400', '--owner', 'ci', '--no-arp'];
  const library: AttachSpec = {
    hostIf: 'eth0', guest: 'web1', guestIf: 'eth2', hostEnd: 'vh2', address: '10.0.0.3/24', gateway: '10.0.0.1',
    mac: 'U:web1', vlan: 10, mtu: 1400, owner: 'ci', arp: false,
  };
  return {
    positional: specOf(parsePipeworkArgs(argv)),
    named: specOf(attachFromOptions({
      hostIf: 'eth0', guest: 'web1', guestIf: 'eth2', hostEnd: 'vh2', address: '10.0.0.3/24', gateway: '10.0.0.1',
      mac: 'U:web1', vlan: '10', mtu: '1400', owner: 'ci', arp: false,
    })),
    'batch line': batchSpecs(`# a comment\npipework ${argv.join(' ')}\n`, 'plan.txt')[0]!.spec,
    'batch JSON': batchSpecs(JSON.stringify([library]), 'plan.json')[0]!.spec,
    library: buildSpec(library),
  };
}

t.test('the same attach, asked five ways, is one spec', async (t) => {
  const forms = staticForms();
  for (const [name, spec] of Object.entries(forms)) t.strictSame(spec, forms.library, `${name} = library`);
  const s = forms.library;
  t.strictSame(s.address, { family: 4, address: '10.0.0.3', prefixLen: 24, broadcast: '10.0.0.255' }, 'the address is carried parsed, with its broadcast');
  t.strictSame(s.gateway, { family: 4, address: '10.0.0.1' }, 'the gateway is carried parsed');
  t.equal(s.gatewayOnLink, false, 'the gateway is inside the subnet');
  t.equal(s.mac, buildSpec({ hostIf: 'eth0', guest: 'x', mac: 'U:web1' }).mac, "U:SEED became pipework's stable MAC");
  t.match(s.mac, /^02:[0-9a-f]{2}(:[0-9a-f]{2}){4}$/);
  t.equal(s.group, 0x7077, "pipewright's own link group by default");
  t.equal(s.directPhys, false);
  t.equal(s.watchMs, 0);
});

t.test('a DHCP attach, asked five ways, is one spec with every default filled', async (t) => {
  const argv = ['br0', 'web1', 'udhcpc-f:-t 3', '--timeout', '9000'];
  const library: AttachSpec = { hostIf: 'br0', guest: 'web1', dhcp: { client: 'udhcpc', foreground: true, options: ['-t', '3'], timeoutMs: 9000 } };
  const forms: Forms = {
    positional: specOf(parsePipeworkArgs(argv)),
    named: specOf(attachFromOptions({ hostIf: 'br0', guest: 'web1', dhcp: 'udhcpc-f:-t 3', timeout: '9000', arp: true })),
    'batch line': batchSpecs(argv.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' '), 'plan.txt')[0]!.spec,
    'batch JSON': batchSpecs(JSON.stringify([library]), 'plan.json')[0]!.spec,
    library: buildSpec(library),
  };
  for (const [name, spec] of Object.entries(forms)) t.strictSame(spec, forms.library, `${name} = library`);
  t.strictSame(buildSpec({ hostIf: 'br0', guest: 'g', dhcp: { client: 'dhcp' } }).dhcp, { client: 'dhcp', foreground: false, options: [], timeoutMs: 30_000 });
});

t.test('the spec is frozen, nested values too', async (t) => {
  const s = staticForms().library;
  const d = buildSpec({ hostIf: 'br0', guest: 'g', dhcp: { client: 'dhcp', options: ['-v'] } });
  for (const [what, o] of [['spec', s], ['address', s.address], ['gateway', s.gateway], ['dhcp', d.dhcp], ['dhcp.options', d.dhcp!.options]] as const)
    t.ok(Object.isFrozen(o), `${what} is frozen`);
  t.throws(() => {
    (s as { hostEnd?: string }).hostEnd = 'other';
  }, TypeError, 'a field cannot be written');
  t.throws(() => {
    (s.address as { prefixLen: number }).prefixLen = 8;
  }, TypeError, 'the parsed address cannot be written');
  t.throws(() => {
    (d.dhcp!.options as string[]).push('-x');
  }, TypeError, 'the client options cannot be added to');
});

t.test('a built spec is taken as it is; the caller\'s input is not kept', async (t) => {
  const input: AttachSpec = { hostIf: 'br0', guest: 'g', address: '10.0.0.3/24' };
  const s = buildSpec(input);
  t.ok(isBuiltSpec(s));
  t.notOk(isBuiltSpec({ ...s }), 'a copy is not a built spec (it would be built again)');
  t.equal(buildSpec(s), s, 'building a built spec returns it unchanged');
  input.address = '10.9.9.9/8';
  t.equal(s.address!.address, '10.0.0.3', "changing the caller's object afterwards changes nothing");
  // A copy is input again, and a parsed address is not input: withRefs is the way to vary one.
  t.throws(() => buildSpec({ ...s } as unknown as AttachSpec), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'address' }, 'a copy of a built spec is checked as input');
  const guest = { name: 'other' };
  const moved = withRefs(s, { guest });
  t.ok(isBuiltSpec(moved) && Object.isFrozen(moved), 'withRefs gives a built, frozen spec');
  t.equal(moved.guest, guest);
  t.strictSame({ ...moved, guest: s.guest }, { ...s }, 'everything else is as built');
});

t.test('errors and codes are as before, from the one builder', async (t) => {
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', address: '10.0.0.3/33' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'address', message: /^address: "10\.0\.0\.3\/33" has a bad prefix length '33'/ });
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', guestIf: 'a:b' }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'guestIf' });
  t.throws(() => parsePipeworkArgs(['br0', '-i', 'a:b', 'G', '10.0.0.3/24']), { message: /^-i GUESTIF: "a:b" must not contain ':'/ });
  t.throws(() => attachFromOptions({ hostIf: 'br0', guest: 'G', guestIf: 'a:b', arp: true }), { message: /^--guest-if: "a:b" must not contain ':'/ });
  t.throws(() => attachFromOptions({ hostIf: 'br0', guest: 'G', hostEnd: 'waytoolongname123', arp: true }), { message: /^--host-end: .*17 bytes long/ });
  t.throws(() => batchSpecs('[{"hostIf":"br0","guest":"g","address":"10.0.0.3"}]', 'p.json'), { code: 'ERR_PW_INVALID_ARGUMENT', message: /^line 1: address: "10\.0\.0\.3" has no prefix length/ });
  t.throws(() => batchSpecs('br0 g 10.0.0.3/24\nbr0 g 10.0.0.3/24 zz\n', 'p.txt'), { message: /^line 2: MAC: "zz" is not a MAC address/ });
});

/** A context on handles that find nothing: planning a first attach, with no kernel. */
function fakeCtx(spec: NormalizedSpec): Ctx {
  const nothing = { link: { find: async () => null } };
  return {
    host: nothing, gh: nothing, spec, mode: 'bridge', hostIfLink: null, hostIfName: 'br0', mtu: 1500, warnings: [],
    guest: { pid: 4242, label: 'pid 4242', netns: { ino: 4026532000, id: '0:4026532000' } },
    guestCookie: Promise.resolve(undefined),
  } as unknown as Ctx;
}

t.test('planning writes nothing to the spec: the chosen host end name goes into the context', async (t) => {
  const spec = buildSpec({ hostIf: 'br0', guest: 'g', guestIf: 'eth2', address: '10.0.0.3/24', gateway: '10.0.0.1' });
  const before = JSON.stringify(spec);
  const ctx = fakeCtx(spec);
  const plan = await makePlan(ctx);
  t.equal(JSON.stringify(spec), before, 'the spec is unchanged');
  t.equal(spec.hostEnd, undefined, 'the spec still has no host end name');
  t.equal(ctx.hostEndName, hostEndName('eth2', 4242, true), 'the context has the chosen name');
  t.match(plan.steps.map((s) => s.describe), [/^create bridge br0/, new RegExp(`^create veth ${ctx.hostEndName} `), /^add 10\.0\.0\.3\/24 \(broadcast 10\.0\.0\.255\) to eth2/]);

  const given = fakeCtx(buildSpec({ hostIf: 'br0', guest: 'g', hostEnd: 'vh9', address: '10.0.0.3/24' }));
  await makePlan(given);
  t.equal(given.hostEndName, 'vh9', 'a given name is the one used');
});

t.test('hostIfLink: the host interface as the caller read it, taken as a frozen copy; refused without host or naming another link', async (t) => {
  const link = { index: 7, name: 'br0', kind: 'bridge', up: true, mtu: 1500 } as unknown as NonNullable<AttachSpec['hostIfLink']>;
  const host = {} as NonNullable<AttachSpec['host']>;
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', hostIfLink: link }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'hostIfLink', message: /needs host/ });
  t.throws(() => buildSpec({ hostIf: 'br1', guest: 'g', host, hostIfLink: link }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'hostIfLink', message: /the link named 'br1'/ });
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', host, hostIfLink: { name: 'br0' } as unknown as typeof link }), { field: 'hostIfLink', message: /its index and name/ });
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', host, hostIfLink: null as unknown as typeof link }), { code: 'ERR_PW_INVALID_ARGUMENT', field: 'hostIfLink' }, 'null is refused');
  t.throws(() => batchSpecs(JSON.stringify([{ hostIf: 'br0', guest: 'g', hostIfLink: link }]), 'p.json'), { code: 'ERR_PW_INVALID_ARGUMENT', message: /'hostIfLink' is not a field a plan accepts/ }, 'a JSON plan cannot give one (it has no handle)');
  const s = buildSpec({ hostIf: 'br0', guest: 'g', host, hostIfLink: link });
  t.same(s.hostIfLink, link, 'kept');
  t.not(s.hostIfLink, link, 'as a copy');
  t.ok(Object.isFrozen(s.hostIfLink), 'frozen');
});

t.test('ipv6LinkLocal: asked three ways it is one spec; its default follows the address; refused where it cannot apply', async (t) => {
  const library = buildSpec({ hostIf: 'br0', guest: 'web1', address: '10.0.0.3/24', ipv6LinkLocal: true });
  t.strictSame(specOf(parsePipeworkArgs(['br0', 'web1', '10.0.0.3/24', '--ipv6-link-local'])), library, 'positional = library');
  t.strictSame(specOf(attachFromOptions({ hostIf: 'br0', guest: 'web1', address: '10.0.0.3/24', arp: true, ipv6LinkLocal: true })), library, 'named = library');
  t.strictSame(batchSpecs(JSON.stringify([{ hostIf: 'br0', guest: 'web1', address: '10.0.0.3/24', ipv6LinkLocal: true }]), 'plan.json')[0]!.spec, library, 'batch JSON = library');
  const dflt = (s: AttachSpec) => buildSpec(s).ipv6LinkLocal;
  t.equal(dflt({ hostIf: 'br0', guest: 'g', address: '10.0.0.3/24' }), false, 'an IPv4 address: none');
  t.equal(dflt({ hostIf: 'br0', guest: 'g', address: 'fd00::3/64' }), true, 'an IPv6 address: kept');
  t.equal(dflt({ hostIf: 'br0', guest: 'g', dhcp: { client: 'dhcp' } }), true, 'DHCP: kept (the network may offer IPv6 too)');
  t.equal(dflt({ hostIf: 'eth0', guest: 'g', address: '10.0.0.3/24', directPhys: true }), true, "directPhys: kept (the host's own device)");
  t.equal(dflt({ hostIf: 'br0', guest: 'g', address: '0/0' }), undefined, "no address: the caller's settings decide (kept without them)");
  t.throws(() => buildSpec({ hostIf: 'eth0', guest: 'g', address: '10.0.0.3/24', directPhys: true, ipv6LinkLocal: false }), { code: 'ERR_PW_INVALID_ARGUMENT', message: /ipv6LinkLocal.*directPhys/ }, 'false with directPhys is refused');
  t.throws(() => buildSpec({ hostIf: 'br0', guest: 'g', ipv6LinkLocal: 'yes' as unknown as boolean }), { code: 'ERR_PW_INVALID_ARGUMENT', message: /ipv6LinkLocal/ }, 'not a boolean: refused, naming the field');
});
