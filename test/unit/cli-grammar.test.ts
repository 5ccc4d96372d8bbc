// The command line's grammar, table-driven and without privileges: every
// pipework form, our extensions, and the error each mistake gets; then the
// `ip route` / `ip rule` argument parsers behind `pipewright route|rule`.
import t from 'tap';
import { parsePipeworkArgs } from '../../lib/cli/pipework-args';
import { parseRouteArgs } from '../../lib/cli/iproute-route-args';
import { parseRuleArgs } from '../../lib/cli/iproute-rule-args';
import { attachFromOptions } from '../../lib/cli/commands/attach';
import { PipewrightError } from '../../lib/core/errors';
import { buildSpec, type AttachSpec } from '../../lib/ops/attach/spec';

/** A row: argv (split on spaces, or given as an array), and what it parses to or the error it gets. */
type Row = [argv: string | string[], want: Record<string, unknown> | RegExp];

const words = (a: string | string[]) => (Array.isArray(a) ? a : a === '' ? [] : a.split(' '));

function table(name: string, rows: Row[], parse: (argv: string[]) => unknown) {
  t.test(name, async (t) => {
    for (const [argv, want] of rows) {
      const label = JSON.stringify(words(argv).join(' '));
      if (want instanceof RegExp) {
        t.throws(() => parse(words(argv)), { code: 'ERR_PW_INVALID_ARGUMENT', message: want }, `${label} is refused`);
      } else {
        let got: unknown;
        try {
          got = parse(words(argv));
        } catch (e) {
          t.fail(`${label}: ${(e as Error).message}`);
          continue;
        }
        t.strictSame(got, want, label);
      }
    }
  });
}

/**
 * An attach request: its spec is what the library's spec builder makes of
 * the same request in the library's field names, so every row also shows the
 * command line and the library call agree.
 */
const A = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  kind: 'attach',
  spec: buildSpec({ guest: 'G', ...spec, ...(extra.watchMs ? { watchMs: extra.watchMs, repair: extra.repair } : {}) } as AttachSpec),
  json: false, dryRun: false, watchMs: 0, repair: false, ...extra,
});
const br0 = { hostIf: 'br0' };
const v4 = { ...br0, address: '10.0.0.3/24' };

table('pipework attach forms', [
  ['br0 G 10.0.0.3/24', A(v4)],
  ['br0 G 10.0.0.3/24@10.0.0.1', A({ ...v4, gateway: '10.0.0.1' })],
  ['br0 G 10.0.0.3/24@192.168.1.1', A({ ...v4, gateway: '192.168.1.1' })],
  ['eth0 G 192.168.1.10/24@192.168.1.1', A({ hostIf: 'eth0', address: '192.168.1.10/24', gateway: '192.168.1.1' })],
  ['mac:02:42:AC:11:00:02 G 10.0.0.3/24', A({ hostIf: 'mac:02:42:AC:11:00:02', address: '10.0.0.3/24' })],
  ['--direct-phys eth2 G 10.0.0.3/24', A({ hostIf: 'eth2', address: '10.0.0.3/24', directPhys: true })],
  ['eth2 G 10.0.0.3/24 --direct-phys', A({ hostIf: 'eth2', address: '10.0.0.3/24', directPhys: true })],
  ['br0 -i eth2 G 10.0.0.3/24', A({ ...v4, guestIf: 'eth2' })],
  ['br0 -i eth2 -l vhost1 G 10.0.0.3/24', A({ ...v4, guestIf: 'eth2', hostEnd: 'vhost1' })],
  ['br0 -i eth2 -l vhost1 -a 4 G 10.0.0.3/24', A({ ...v4, guestIf: 'eth2', hostEnd: 'vhost1' })],
  ['br0 -a 4 -l vhost1 -i eth2 G 10.0.0.3/24', A({ ...v4, guestIf: 'eth2', hostEnd: 'vhost1' })],
  ['br0 G -i eth2 10.0.0.3/24', A({ ...v4, guestIf: 'eth2' })],
  ['br0 -a 6 G 2001:db8::3/64@2001:db8::1', A({ ...br0, address: '2001:db8::3/64', gateway: '2001:db8::1' })],
  ['br0 G 2001:DB8:0::3/64', A({ ...br0, address: '2001:db8::3/64' })],
  ['br0 G 0/0', A(br0)],
  ['br0 -i eth3 G 0/0 @7', A({ ...br0, guestIf: 'eth3', vlan: 7 })],
  ['br0 G 10.0.0.3/24 02:42:AC:11:00:02', A({ ...v4, mac: '02:42:ac:11:00:02' })],
  ['br0 G 10.0.0.3/24 U:hello', A({ ...v4, mac: '02:b1:94:6a:c9:24' })],
  ['eth0 G 10.0.0.3/24 @10', A({ hostIf: 'eth0', address: '10.0.0.3/24', vlan: 10 })],
  ['eth0 G 10.0.0.3/24 02:00:00:00:00:01@10', A({ hostIf: 'eth0', address: '10.0.0.3/24', mac: '02:00:00:00:00:01', vlan: 10 })],
  ['eth0 G 10.0.0.3/24 U:web@4094', A({ hostIf: 'eth0', address: '10.0.0.3/24', mac: '02:64:d4:20:24:f1', vlan: 4094 })],
  ['br0 G dhcp', A({ ...br0, dhcp: { client: 'dhcp', foreground: false } })],
  ['br0 G dhcp-f', A({ ...br0, dhcp: { client: 'dhcp', foreground: true } })],
  [['br0', 'G', 'dhcp:-x hostname:web'], A({ ...br0, dhcp: { client: 'dhcp', foreground: false, options: ['-x', 'hostname:web'] } })],
  ['br0 G udhcpc', A({ ...br0, dhcp: { client: 'udhcpc', foreground: false } })],
  ['br0 G udhcpc-f', A({ ...br0, dhcp: { client: 'udhcpc', foreground: true } })],
  [['br0', 'G', 'udhcpc:-t 5  -T 2'], A({ ...br0, dhcp: { client: 'udhcpc', foreground: false, options: ['-t', '5', '-T', '2'] } })],
  [['br0', 'G', 'udhcpc-f:-t 5'], A({ ...br0, dhcp: { client: 'udhcpc', foreground: true, options: ['-t', '5'] } })],
  ['br0 G dhclient', A({ ...br0, dhcp: { client: 'dhclient', foreground: false } })],
  ['br0 G dhclient-f:-v', A({ ...br0, dhcp: { client: 'dhclient', foreground: true, options: ['-v'] } })],
  ['br0 G dhcpcd', A({ ...br0, dhcp: { client: 'dhcpcd', foreground: false } })],
  ['br0 G dhcpcd-f:--noipv6', A({ ...br0, dhcp: { client: 'dhcpcd', foreground: true, options: ['--noipv6'] } })],
  ['eth0 -i eth2 -l x G udhcpc 02:00:00:00:00:09@12', A({ hostIf: 'eth0', guestIf: 'eth2', hostEnd: 'x', mac: '02:00:00:00:00:09', vlan: 12, dhcp: { client: 'udhcpc', foreground: false } })],
  ['br0 G udhcpc --timeout 5000', A({ ...br0, dhcp: { client: 'udhcpc', foreground: false, timeoutMs: 5000 } })],
  ['--json br0 G 10.0.0.3/24', A(v4, { json: true })],
  ['br0 G --dry-run 10.0.0.3/24', A(v4, { dryRun: true })],
  ['br0 G 10.0.0.3/24 --watch 2000 --repair', A(v4, { watchMs: 2000, repair: true })],
  ['br0 G 10.0.0.3/24 --watch=1500 --json', A(v4, { watchMs: 1500, json: true })],
  ['br0 G 10.0.0.3/24 --mtu 9000 --owner team-a --no-arp', A({ ...v4, mtu: 9000, owner: 'team-a', arp: false })],
  ['-- br0 G 10.0.0.3/24', A(v4)],
], parsePipeworkArgs);

table('pipework attach errors', [
  ['br0 G 10.0.0.3', /^The IP address should include a netmask\. Maybe you meant 10\.0\.0\.3\/24 \?$/],
  ['br0 G 10.0.0.3@10.0.0.1', /Maybe you meant 10\.0\.0\.3\/24@10\.0\.0\.1 \?/],
  ['br0 G 2001:db8::3', /Maybe you meant 2001:db8::3\/64 \?/],
  ['br0 G foo', /'foo' is not an address: expected IP\/PREFIX\[@GATEWAY\], 0\/0, or dhcp/],
  ['br0 G dhcpx', /'dhcpx' is not an address/],
  ['br0 G 10.0.0.3/33', /address: .*bad prefix length '33'/],
  ['br0 G 10.0.0.3/24@2001:db8::1', /gateway: .*IPv6 address; IPv4 is needed/],
  ['br0 G 10.0.0.3/24@', /ends with '@' but names no gateway/],
  ['br0 G 10.0.0.3/24@10.0.0.1@x', /more than one '@'/],
  ['br0 -a 6 G 10.0.0.3/24', /-a 6 was given, but 10\.0\.0\.3\/24 is an IPv4 address/],
  ['br0 -a 4 G 2001:db8::3/64', /-a 4 was given, but .* is an IPv6 address/],
  ['br0 -a 5 G 10.0.0.3/24', /-a takes 4 or 6/],
  ['mac:zz G 10.0.0.3/24', /^HOSTIF: .*not a MAC address/],
  ['br0 G 10.0.0.3/24 U:', /U: needs a seed/],
  ['br0 G 10.0.0.3/24 zz', /^MAC: "zz" is not a MAC address/],
  ['br0 G 10.0.0.3/24 03:00:00:00:00:01', /^MAC: .*multicast/],
  ['eth0 G 10.0.0.3/24 @4095', /VLAN must be an integer from 1 to 4094, not '4095'/],
  ['eth0 G 10.0.0.3/24 @x', /VLAN must be an integer/],
  ['eth0 G 10.0.0.3/24 @', /VLAN must be an integer/],
  ['eth0 G 10.0.0.3/24 a@1@2', /more than one '@'/],
  ['br0 G 10.0.0.3/24 --timeout 5000', /'--timeout' applies to a DHCP attach/],
  ['br0 -i eth0:1 G 10.0.0.3/24', /^-i GUESTIF: .*must not contain ':'/],
  ['br0 -l waytoolongname123 G 10.0.0.3/24', /^-l LOCALIF: .*17 bytes long/],
  ['br0 -i eth1 -i eth2 G 10.0.0.3/24', /option '-i' is given twice/],
  ['br0 G 10.0.0.3/24 -i', /option '-i' needs a value/],
  ['br0 G 10.0.0.3/24 --watch', /option '--watch' needs a value/],
  ['br0 G 10.0.0.3/24 --watch soon', /--watch must be an integer/],
  ['br0 G 10.0.0.3/24 --repair', /'--repair' needs --watch MS/],
  ['br0 G 10.0.0.3/24 --mtu 20', /--mtu must be an integer from 68 to 65535/],
  ['br0 G 10.0.0.3/24 --owner', /option '--owner' needs a value/],
  [['br0', 'G', '10.0.0.3/24', '--owner', 'a b'], /--owner: .*whitespace/],
  ['--direct-phys eth2 -l x G 10.0.0.3/24', /^-l LOCALIF: .*no meaning with directPhys/],
  ['br0 G 10.0.0.3/24 --bogus', /^unknown option '--bogus'$/],
  ['br0 -x G 10.0.0.3/24', /^unknown option '-x'$/],
  ['br0 G 10.0.0.3/24 --json=yes', /option '--json' takes no value/],
  ['', /missing arguments: expected HOSTIF GUEST/],
  ['br0', /missing GUEST after host interface 'br0'/],
  ['br0 G', /missing the address for guest 'G'/],
  ['br0 G 10.0.0.3/24 02:00:00:00:00:01 extra', /too many arguments: 'extra'/],
], parsePipeworkArgs);

table('route, rule, tc, detach, --wait and help', [
  ['route G add default via 10.0.0.1', { kind: 'route', guest: 'G', args: ['add', 'default', 'via', '10.0.0.1'], json: false }],
  ['route G show --json', { kind: 'route', guest: 'G', args: ['show'], json: true }],
  ['--json route G -6 show', { kind: 'route', guest: 'G', args: ['-6', 'show'], json: true }],
  ['route 1234', { kind: 'route', guest: '1234', args: [], json: false }],
  ['rule G add from 10.0.0.0/24 lookup 100', { kind: 'rule', guest: 'G', args: ['add', 'from', '10.0.0.0/24', 'lookup', '100'], json: false }],
  ['tc G qdisc add dev eth1 root netem delay 100ms', { kind: 'tc', guest: 'G', args: ['qdisc', 'add', 'dev', 'eth1', 'root', 'netem', 'delay', '100ms'] }],
  ['tc G -s -json qdisc show --json', { kind: 'tc', guest: 'G', args: ['-s', '-json', 'qdisc', 'show', '--json'] }],
  ['detach G', { kind: 'detach', guest: 'G', json: false }],
  ['detach pid:42 -i eth2 --json', { kind: 'detach', guest: 'pid:42', guestIf: 'eth2', json: true }],
  ['--wait', { kind: 'wait', guestIf: 'eth1', timeoutMs: 30000, json: false }],
  ['--wait -i eth2 --timeout 500', { kind: 'wait', guestIf: 'eth2', timeoutMs: 500, json: false }],
  ['-i eth2 --wait --json', { kind: 'wait', guestIf: 'eth2', timeoutMs: 30000, json: true }],
  ['--help', { kind: 'help' }],
  ['br0 G -h', { kind: 'help' }],
  ['route', /route needs GUEST/],
  ['tc G', /tc needs arguments/],
  ['--json tc G qdisc show', /option '--json' does not apply to tc/],
  ['route -i eth1 G show', /option '-i' does not apply to route/],
  ['rule G show --dry-run', /option '--dry-run' does not apply to rule/],
  ['detach', /detach needs GUEST/],
  ['detach G H', /too many arguments: 'H'/],
  ['detach G --dry-run', /option '--dry-run' does not apply to detach/],
  ['--wait eth1', /too many arguments: 'eth1'/],
  ['--wait --dry-run', /option '--dry-run' does not apply to --wait/],
  ['--wait --timeout -5', /--timeout must be an integer from 0 to 3600000, not '-5'/],
], parsePipeworkArgs);

t.test('the named-option attach form parses to the same requests', async (t) => {
  const rows: Array<[Record<string, unknown>, Record<string, unknown> | RegExp]> = [
    [{ address: '10.0.0.3/24', gateway: '10.0.0.1' }, A({ ...v4, gateway: '10.0.0.1' })],
    [{ address: '10.0.0.3/24@10.0.0.1', mac: 'U:hello', guestIf: 'eth2' }, A({ ...v4, gateway: '10.0.0.1', mac: '02:b1:94:6a:c9:24', guestIf: 'eth2' })],
    [{ hostIf: 'eth0', dhcp: 'udhcpc-f:-t 3', timeout: '9000', vlan: '12' }, A({ hostIf: 'eth0', vlan: 12, dhcp: { client: 'udhcpc', foreground: true, options: ['-t', '3'], timeoutMs: 9000 } })],
    [{ address: '10.0.0.3/24', arp: false, mtu: '1400', json: true, dryRun: true }, A({ ...v4, arp: false, mtu: 1400 }, { json: true, dryRun: true })],
    [{ address: '10.0.0.3' }, /Maybe you meant 10\.0\.0\.3\/24 \?/],
    [{ address: '10.0.0.3/24', dhcp: 'udhcpc' }, /--dhcp excludes --address/],
    [{ gateway: '10.0.0.1' }, /--gateway needs --address/],
    [{ address: '10.0.0.3/24@10.0.0.1', gateway: '10.0.0.2' }, /the gateway is given twice/],
    [{ dhcp: 'dhcpd' }, /--dhcp: 'dhcpd' is not a DHCP client/],
    [{ address: '10.0.0.3/24', family: '6' }, /-a 6 was given/],
    [{ address: '10.0.0.3/24', repair: true }, /--repair needs --watch/],
  ];
  for (const [o, want] of rows) {
    const opts = { hostIf: 'br0', guest: 'G', arp: true, ...o } as Parameters<typeof attachFromOptions>[0];
    if (want instanceof RegExp) t.throws(() => attachFromOptions(opts), { code: 'ERR_PW_INVALID_ARGUMENT', message: want }, JSON.stringify(o));
    else t.strictSame(attachFromOptions(opts), want, JSON.stringify(o));
  }
});

table('ip route arguments', [
  ['', { verb: 'show', filter: { family: 4, table: 254 } }],
  ['list', { verb: 'show', filter: { family: 4, table: 254 } }],
  ['-6 show', { verb: 'show', filter: { family: 6, table: 254 } }],
  ['show table local dev eth1', { verb: 'show', filter: { family: 4, table: 255, dev: 'eth1' } }],
  ['show table all', /'table all' is not supported/],
  ['show table 100 default', { verb: 'show', filter: { family: 4, table: 100, dst: 'default' } }],
  ['show via 10.0.0.1 10.9.0.0/16', { verb: 'show', filter: { family: 4, table: 254, via: '10.0.0.1', dst: '10.9.0.0/16' } }],
  ['add default via 10.0.0.1', { verb: 'add', spec: { gateway: '10.0.0.1', dst: 'default' } }],
  ['add 10.9.0.0/16 via 10.0.0.1 dev eth1 table 100 metric 10 src 10.0.0.3 proto static onlink mtu 1400',
    { verb: 'add', spec: { gateway: '10.0.0.1', dev: 'eth1', table: 100, metric: 10, src: '10.0.0.3', proto: 'static', onlink: true, mtu: 1400, dst: '10.9.0.0/16' } }],
  ['add 10.9.0.0/16 dev eth1 scope link proto 42', { verb: 'add', spec: { dev: 'eth1', scope: 'link', proto: 42, dst: '10.9.0.0/16' } }],
  ['add to 10.9.0.0/16 via inet 10.0.0.1 priority 7', { verb: 'add', spec: { gateway: '10.0.0.1', metric: 7, dst: '10.9.0.0/16' } }],
  ['replace default via 10.0.0.1 dev eth1 table main', { verb: 'replace', spec: { gateway: '10.0.0.1', dev: 'eth1', table: 254, dst: 'default' } }],
  ['del 10.9.0.0/16', { verb: 'del', spec: { dst: '10.9.0.0/16' } }],
  ['delete 10.9.0.0/16 via 10.0.0.1', { verb: 'del', spec: { gateway: '10.0.0.1', dst: '10.9.0.0/16' } }],
  ['add blackhole 10.66.0.0/16', { verb: 'add', spec: { type: 'blackhole', dst: '10.66.0.0/16' } }],
  ['add 10.0.0.5 dev eth1', { verb: 'add', spec: { dev: 'eth1', dst: '10.0.0.5/32' } }],
  ['add 0.0.0.0/0 via 10.0.0.1', { verb: 'add', spec: { gateway: '10.0.0.1', dst: 'default' } }],
  ['add 2001:db8:1::/48 via 2001:db8::1', { verb: 'add', spec: { gateway: '2001:db8::1', dst: '2001:db8:1::/48' } }],
  ['frob', /route: unknown command 'frob'/],
  ['add', /route add: a destination is required/],
  ['add 10.9.0.0/16 via', /route add: 'via' needs a value/],
  ['add 10.9.0.0/16 via 2001:db8::1', /route add: via: .*IPv6 address; IPv4 is needed/],
  ['add 10.9.0.0/16 bogus', /route add: unknown argument 'bogus'/],
  ['add 10.9.0.0/16 metric x', /route add metric must be an integer/],
  ['add 10.9.0.0/16 10.8.0.0/16', /unexpected '10\.8\.0\.0\/16' \(the destination is already 10\.9\.0\.0\/16\)/],
  ['add 10.9.0.0/16 scope galaxy', /unknown scope 'galaxy'/],
  ['add 10.9.0.0/16 dev eth1 dev eth2', /'dev' is given twice/],
  ['show metric 5', /route show: 'metric' is not supported as a filter/],
  ['-6 add default dev eth1', /IPv6 default route needs 'via GATEWAY'/],
  ['-6 add 10.0.0.0/8 dev eth1', /10\.0\.0\.0\/8 is IPv4, but -6 was given/],
  ['add 10.0.0.0/40 dev eth1', /bad prefix length '40'/],
], parseRouteArgs);

table('ip rule arguments', [
  ['', { verb: 'show', family: 4 }],
  ['-6 list', { verb: 'show', family: 6 }],
  ['add from 10.0.0.0/24 lookup 100 priority 1000', { verb: 'add', spec: { from: '10.0.0.0/24', table: 100, priority: 1000, family: 4 } }],
  ['add from all to 10.1.0.0/16 table main pref 5', { verb: 'add', spec: { to: '10.1.0.0/16', table: 254, priority: 5, family: 4 } }],
  ['add iif eth1 lookup 7', { verb: 'add', spec: { iif: 'eth1', table: 7 } }],
  ['add dev eth1 lookup 7 order 3', { verb: 'add', spec: { iif: 'eth1', table: 7, priority: 3 } }],
  ['add oif eth1 fwmark 0x10 lookup 7', { verb: 'add', spec: { oif: 'eth1', fwmark: 16, table: 7 } }],
  ['add from 10.0.0.5 blackhole', { verb: 'add', spec: { from: '10.0.0.5/32', action: 'blackhole', family: 4 } }],
  ['add from 2001:db8::/64 lookup 5', { verb: 'add', spec: { from: '2001:db8::/64', table: 5, family: 6 } }],
  ['del priority 1000', { verb: 'del', spec: { priority: 1000 } }],
  ['delete from 10.0.0.0/24 unreachable', { verb: 'del', spec: { from: '10.0.0.0/24', action: 'unreachable', family: 4 } }],
  ['add from 10.0.0.0/24', /rule add: 'lookup TABLE' is required/],
  ['add lookup 5 prohibit', /'prohibit' and 'lookup 5' exclude each other/],
  ['add blackhole prohibit', /more than one action/],
  ['add fwmark 1/0xff lookup 5', /fwmark masks are not supported/],
  ['add from x lookup 5', /rule add: from: "x" is not an IPv4 or IPv6 address/],
  ['add lookup', /'lookup' needs a value/],
  ['add lookup 5 priority -1', /rule add priority must be an integer/],
  ['frob', /rule: unknown command 'frob'/],
  ['show from 1.2.3.4', /rule show: filters are not supported/],
  ['-6 add from 10.0.0.0/8 lookup 5', /from 10\.0\.0\.0\/8 is IPv4, but the rule is IPv6/],
], parseRuleArgs);

t.test('usage errors are PipewrightErrors a caller can match on', async (t) => {
  try {
    parsePipeworkArgs(['br0', 'G', '10.0.0.3']);
    t.fail('accepted');
  } catch (e) {
    t.ok(e instanceof PipewrightError);
    t.equal((e as PipewrightError).name, 'UsageError');
    t.equal((e as PipewrightError).field, 'argv');
  }
});
