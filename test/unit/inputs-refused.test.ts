// Inputs that must be refused at the edge, before any kernel call, with one
// line naming the value (issue 12, "Inputs accepted that must be refused").
// The library's own validation (buildSpec) and the command line both.
import t, { type Test } from 'tap';
import { buildSpec } from '../../lib/ops/attach/spec';
import { parsePipeworkArgs } from '../../lib/cli/pipework-args';
import { attachFromOptions } from '../../lib/cli/commands/attach';
import { main } from '../../lib/cli/main';
import { EXIT } from '../../lib/cli/exit-codes';
import { PipewrightError } from '../../lib/core/errors';

function refused(t: Test, fn: () => unknown, field: string, value: RegExp, why: RegExp, label: string) {
  try {
    fn();
    t.fail(`${label}: accepted`);
  } catch (e) {
    t.ok(e instanceof PipewrightError, `${label}: a PipewrightError`);
    t.equal((e as PipewrightError).code, 'ERR_PW_INVALID_ARGUMENT', `${label}: invalid argument`);
    t.equal((e as PipewrightError).field, field, `${label}: names the field`);
    t.match((e as Error).message, value, `${label}: names the value`);
    t.match((e as Error).message, why, `${label}: says why`);
    t.notMatch((e as Error).message, /\n/, `${label}: one line`);
  }
}

const spec = (o: Record<string, unknown>) => () => buildSpec({ hostIf: 'br0', guest: 'g', ...o } as never);

t.test('guest addresses that no interface may hold', async (t) => {
  refused(t, spec({ address: '224.0.0.5/24' }), 'address', /224\.0\.0\.5/, /multicast/, 'IPv4 multicast');
  refused(t, spec({ address: 'ff02::1/64' }), 'address', /ff02::1/, /multicast/, 'IPv6 multicast');
  refused(t, spec({ address: '255.255.255.255/24' }), 'address', /255\.255\.255\.255/, /broadcast/, 'the limited broadcast');
  refused(t, spec({ address: '10.0.0.255/24' }), 'address', /10\.0\.0\.255/, /broadcast address of 10\.0\.0\.0\/24/, "the subnet's broadcast");
  refused(t, spec({ address: '0.0.0.0/24' }), 'address', /0\.0\.0\.0/, /0\.0\.0\.0\/8/, '0.0.0.0');
  refused(t, spec({ address: '0.1.2.3/8' }), 'address', /0\.1\.2\.3/, /0\.0\.0\.0\/8/, 'inside 0.0.0.0/8');
  refused(t, spec({ address: '::/64' }), 'address', /"::\/64"/, /unspecified/, 'the IPv6 unspecified address');
  refused(t, spec({ address: '::ffff:10.0.0.3/120' }), 'address', /::ffff:10\.0\.0\.3/, /IPv4-mapped/, 'an IPv4-mapped IPv6 address');
  refused(t, spec({ address: '127.0.0.2/8' }), 'address', /127\.0\.0\.2/, /loopback/, 'loopback');
  // Still accepted: private, documentation, /31 and /32, link-local.
  for (const ok of ['10.0.0.3/24', '192.0.2.7/24', '10.0.0.1/31', '10.0.0.255/32', '2001:db8::3/64', 'fe80::3/64', '169.254.1.1/16'])
    t.equal(buildSpec({ hostIf: 'br0', guest: 'g', address: ok }).address!.address, ok.split('/')[0], `${ok} is accepted`);
});

t.test('gateways that cannot route', async (t) => {
  refused(t, spec({ address: '10.0.0.2/24', gateway: '10.0.0.2' }), 'gateway', /10\.0\.0\.2/, /the guest's own address/, 'the own address');
  refused(t, spec({ address: '2001:db8::3/64', gateway: '2001:db8:0::3' }), 'gateway', /2001:db8:0::3/, /the guest's own address/, 'the own address, written differently');
  refused(t, spec({ address: '10.0.0.2/24', gateway: '224.0.0.1' }), 'gateway', /224\.0\.0\.1/, /multicast/, 'multicast');
  refused(t, spec({ address: '10.0.0.2/24', gateway: '255.255.255.255' }), 'gateway', /255\.255\.255\.255/, /broadcast/, 'the limited broadcast');
  refused(t, spec({ address: '10.0.0.2/24', gateway: '10.0.0.255' }), 'gateway', /10\.0\.0\.255/, /broadcast address of 10\.0\.0\.0\/24/, "the subnet's broadcast");
  refused(t, spec({ address: '10.0.0.2/24', gateway: '0.0.0.0' }), 'gateway', /0\.0\.0\.0/, /0\.0\.0\.0\/8/, '0.0.0.0');
  refused(t, spec({ address: '2001:db8::3/64', gateway: '::' }), 'gateway', /"::"/, /unspecified/, '::');
  refused(t, spec({ address: '2001:db8::3/64', gateway: 'ff02::2' }), 'gateway', /ff02::2/, /multicast/, 'IPv6 multicast');
  t.equal(buildSpec({ hostIf: 'br0', guest: 'g', address: '2001:db8::3/64', gateway: 'fe80::1' }).gateway!.address, 'fe80::1', 'a link-local IPv6 gateway is fine');
  t.equal(buildSpec({ hostIf: 'br0', guest: 'g', address: '10.1.0.5/32', gateway: '10.1.0.1' }).gatewayOnLink, true, 'a gateway outside the subnet is marked on-link, once');
  t.equal(buildSpec({ hostIf: 'br0', guest: 'g', address: '10.1.0.5/24', gateway: '10.1.0.1' }).gatewayOnLink, false);
});

t.test('owner', async (t) => {
  refused(t, spec({ owner: '' }), 'owner', /""/, /empty/, 'empty');
});

t.test('the command line refuses them at parse time, naming the value', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['br0', 'G', '224.0.0.5/24'], /^address: "224\.0\.0\.5\/24" is a multicast address/],
    [['br0', 'G', '10.0.0.3/24@10.0.0.3'], /^gateway: "10\.0\.0\.3" is the guest's own address/],
    [['br0', 'G', '10.0.0.3/24@0.0.0.0'], /^gateway: "0\.0\.0\.0"/],
    [['br0', 'G', '::ffff:10.0.0.3/120'], /^address: .*IPv4-mapped/],
    [['br0', 'G', '10.0.0.3/24', '--owner', ''], /^--owner: "" .*empty/],
    [['br0', 'G', '10.0.0.3/24', '--mtu', '-1'], /--mtu must be an integer from 68 to 65535, not '-1'/],
    [['br0', 'G', '10.0.0.3/24', '--watch', '-5'], /--watch must be an integer from 0 to 3600000, not '-5'/],
    [['--wait', '--timeout', '-5'], /--timeout must be an integer from 0 to 3600000, not '-5'/],
  ];
  for (const [argv, want] of rows) t.throws(() => parsePipeworkArgs(argv), { code: 'ERR_PW_INVALID_ARGUMENT', message: want }, argv.join(' '));
  t.throws(() => attachFromOptions({ hostIf: 'br0', guest: 'G', arp: true, address: '10.0.0.3/24', owner: '' }), { message: /^--owner: "" .*empty/ }, 'attach --owner ""');
});

function capture() {
  const io = { out: '', err: '', stdout: { write: (s: string) => (io.out += s) }, stderr: { write: (s: string) => (io.err += s) } };
  return io;
}

t.test('exit 2 with one line naming the value, in-process (nothing reaches the kernel)', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['br0', 'G', '255.255.255.255/24'], /255\.255\.255\.255/],
    [['attach', '--host-if', 'br0', '--guest', 'G', '--address', '10.0.0.3/24', '--mtu', '-1'], /-1/],
    [['attach', '--host-if', 'br0', '--guest', 'G', '--address', '10.0.0.3/24', '--owner', ''], /--owner: ""/],
    [['netns', 'holders', '0'], /"0" is not a namespace inode/],
    [['netns', 'holders', 'net:[0]'], /"net:\[0\]" is not a namespace inode/],
  ];
  for (const [argv, want] of rows) {
    const io = capture();
    t.equal(await main(argv, io), EXIT.USAGE, `${argv.join(' ')}: exit 2`);
    t.match(io.err.split('\n')[0], want, `${argv.join(' ')}: the first line names the value`);
    t.notMatch(io.err, /needs a value/, `${argv.join(' ')}: not "needs a value"`);
  }
});
