// The CLI in-process, without privileges: exit codes chosen from error codes,
// how errors are reported (stderr, and JSON on stdout), help and version,
// and the `ip route` / `ip rule` line formats. Nothing here reaches the
// kernel: every command line used fails (or finishes) before that.
import t from 'tap';
import { main } from '../../lib/cli/main';
import { EXIT, exitCodeFor } from '../../lib/cli/exit-codes';
import { formatRoute } from '../../lib/cli/commands/route';
import { formatRule } from '../../lib/cli/commands/rule';
import { NetlinkError, PipewrightError } from '../../lib/core/errors';
import type { PipewrightErrorCode, Route, Rule } from '../../lib';

function capture() {
  const io = { out: '', err: '', stdout: { write: (s: string) => (io.out += s) }, stderr: { write: (s: string) => (io.err += s) } };
  return io;
}

function netlinkError(code: string, errno?: number): NetlinkError {
  return Object.assign(new NetlinkError(`x: ${code}`), { code, ...(errno !== undefined ? { errno } : {}) });
}

t.test('exit codes come from error codes', async (t) => {
  const rows: Array<[PipewrightErrorCode, number]> = [
    ['ERR_PW_INVALID_ARGUMENT', EXIT.USAGE],
    ['ERR_PW_LINK_NOT_FOUND', EXIT.USAGE],
    ['ERR_PW_GUEST_NOT_FOUND', EXIT.GUEST_NOT_FOUND],
    ['ERR_PW_NETNS_NOT_FOUND', EXIT.GUEST_NOT_FOUND],
    ['ERR_PW_NOT_A_NETNS', EXIT.GUEST_NOT_FOUND],
    ['ERR_PW_ATTACH_FAILED', EXIT.FAILED],
    ['ERR_PW_VERIFY_FAILED', EXIT.VERIFY_FAILED],
    ['ERR_PW_CONFLICT', EXIT.CONFLICT],
    ['ERR_PW_TIMEOUT', EXIT.TIMEOUT],
    ['ERR_PW_INTERNAL', EXIT.INTERNAL],
    ['ERR_PW_CLOSED', EXIT.INTERNAL],
  ];
  for (const [code, exit] of rows) t.equal(exitCodeFor(new PipewrightError(code, 'm')), exit, code);
  t.equal(exitCodeFor(netlinkError('EEXIST', 17)), EXIT.FAILED, 'a kernel refusal');
  t.equal(exitCodeFor(netlinkError('ERR_PW_NETNS_NOT_FOUND', 3)), EXIT.GUEST_NOT_FOUND, 'our code wins over the errno');
  t.equal(exitCodeFor(netlinkError('ERR_PW_INTERNAL')), EXIT.INTERNAL, 'no errno: internal');
  t.equal(exitCodeFor(new TypeError('boom')), EXIT.INTERNAL, 'a plain exception');
  t.strictSame([...new Set(Object.values(EXIT))].sort(), [0, 1, 2, 3, 4, 5, 6, 7], 'every exit code is distinct');
});

t.test('a usage error: exit 2, the hint on stderr, nothing on stdout', async (t) => {
  const io = capture();
  t.equal(await main(['br0', 'G', '10.0.0.3'], io), EXIT.USAGE);
  t.equal(io.out, '');
  t.match(io.err, /^pipewright: The IP address should include a netmask\. Maybe you meant 10\.0\.0\.3\/24 \? \(nothing was changed\)\n/);
  t.match(io.err, /Run 'pipewright help' for the syntax/);
});

t.test('with --json the error is also JSON on stdout', async (t) => {
  const io = capture();
  t.equal(await main(['--json', 'br0', 'G', '10.0.0.3'], io), EXIT.USAGE);
  const j = JSON.parse(io.out) as { error: Record<string, unknown> };
  t.equal(j.error.code, 'ERR_PW_INVALID_ARGUMENT');
  t.equal(j.error.exitCode, 2);
  t.match(j.error.message as string, /Maybe you meant 10\.0\.0\.3\/24/);
  t.equal(j.error.aftermath, 'nothing was changed');
});

t.test('subcommand errors are usage errors too', async (t) => {
  let io = capture();
  t.equal(await main(['attach', '--host-if', 'br0'], io), EXIT.USAGE, 'a missing required option');
  t.match(io.err, /^pipewright: attach: missing the required option '--guest' \(nothing was changed\)/);
  io = capture();
  t.equal(await main(['attach', '--host-if', 'br0', '--guest', 'G', '--bogus', '--json'], io), EXIT.USAGE, 'an unknown option');
  t.match(io.err, /unknown option '--bogus'/);
  t.equal((JSON.parse(io.out) as { error: { code: string } }).error.code, 'ERR_PW_INVALID_ARGUMENT');
  io = capture();
  t.equal(await main(['attach', '--host-if', 'br0', '--guest', 'G', '--address', '10.0.0.3'], io), EXIT.USAGE, 'a bad value, parsed by the shared helpers');
  t.match(io.err, /Maybe you meant 10\.0\.0\.3\/24/);
  io = capture();
  t.equal(await main(['detach'], io), EXIT.USAGE);
  t.match(io.err, /detach needs GUEST/);
  io = capture();
  t.equal(await main(['route', 'G', 'frob'], io), EXIT.USAGE, 'route arguments are checked before the guest is looked up');
  t.match(io.err, /route: unknown command 'frob'/);
});

t.test('help, version, and a bare command', async (t) => {
  for (const argv of [['help'], ['--help'], ['br0', '-h']]) {
    const io = capture();
    t.equal(await main(argv, io), EXIT.OK, argv.join(' '));
    t.match(io.out, /pipework-compatible forms:[\s\S]*pipewright --wait/, `${argv.join(' ')}: the pipework forms`);
    t.match(io.out, /Commands:[\s\S]*attach[\s\S]*detach[\s\S]*route[\s\S]*rule[\s\S]*tc/, `${argv.join(' ')}: the subcommands`);
  }
  let io = capture();
  t.equal(await main(['help', 'attach'], io), EXIT.OK);
  t.match(io.out, /--host-if NAME/);
  io = capture();
  t.equal(await main(['--version'], io), EXIT.OK);
  t.match(io.out, /^\d+\.\d+\.\d+\n$/);
  io = capture();
  t.equal(await main([], io), EXIT.USAGE, 'no arguments: the syntax, and bad usage');
  t.match(io.err, /pipework-compatible forms/);
});

const route = (r: Partial<Route>): Route => ({
  family: 4, dst: 'default', dstLen: 0, table: 254, scope: 'universe', proto: 'boot', type: 'unicast', flags: 0, onlink: false, ...r,
});

t.test('routes print as ip route prints them', async (t) => {
  const names = new Map([[2, 'eth1']]);
  t.equal(formatRoute(route({ gateway: '10.0.0.1', dev: 2 }), names), 'default via 10.0.0.1 dev eth1');
  t.equal(formatRoute(route({ dst: '10.0.0.0', dstLen: 24, dev: 2, proto: 'kernel', scope: 'link', src: '10.0.0.3' }), names),
    '10.0.0.0/24 dev eth1 proto kernel scope link src 10.0.0.3');
  t.equal(formatRoute(route({ dst: '10.0.0.1', dstLen: 32, dev: 2, scope: 'link' }), names), '10.0.0.1 dev eth1 scope link');
  t.equal(formatRoute(route({ dst: '10.9.0.0', dstLen: 16, gateway: '10.0.0.1', dev: 7, table: 100, metric: 5, onlink: true, proto: 'static' }), names),
    '10.9.0.0/16 via 10.0.0.1 dev if7 table 100 proto static metric 5 onlink');
  t.equal(formatRoute(route({ dst: '10.66.0.0', dstLen: 16, type: 'blackhole' }), names), 'blackhole 10.66.0.0/16');
  t.equal(formatRoute(route({ family: 6, dst: 'fe80::', dstLen: 64, dev: 2, proto: 'kernel', metric: 256 }), names), 'fe80::/64 dev eth1 proto kernel metric 256');
});

const rule = (r: Partial<Rule>): Rule => ({ family: 4, fromLen: 0, toLen: 0, table: 254, action: 'lookup', ...r });

t.test('rules print as ip rule prints them', async (t) => {
  t.equal(formatRule(rule({ table: 255 })), '0:\tfrom all lookup local');
  t.equal(formatRule(rule({ priority: 1000, from: '10.0.0.0', fromLen: 24, table: 100 })), '1000:\tfrom 10.0.0.0/24 lookup 100');
  t.equal(formatRule(rule({ priority: 5, from: '10.0.0.5', fromLen: 32, to: '10.1.0.0', toLen: 16, fwmark: 16, iif: 'eth1', oif: 'eth2', table: 7 })),
    '5:\tfrom 10.0.0.5 to 10.1.0.0/16 fwmark 0x10 iif eth1 oif eth2 lookup 7');
  t.equal(formatRule(rule({ priority: 9, action: 'blackhole' })), '9:\tfrom all blackhole');
});

t.test('bridge, overlay and apply: their options are the registry\'s, refused before the kernel is asked', async (t) => {
  const rows: Array<[string[], RegExp]> = [
    [['overlay', 'vx0', '--vnii', '4'], /unknown option '--vnii' \(did you mean '--vni'\?\)/],
    [['overlay', 'vx0', '--show', '--vni', '4'], /--show takes no --vni/],
    [['overlay', 'vx0', '--show', '--delete'], /--show and --delete exclude each other/],
    [['overlay', 'vx0', '--vni', '4', '--dev', 'eth0', '--local', '10.0.0.1'], /--peers is required/],
    [['overlay', 'vx0', '--vni', '0', '--dev', 'eth0', '--local', '10.0.0.1', '--peers', '10.0.0.2'], /vni: 0 must be an integer from 1 to 16777215/],
    [['bridge', 'br0', '--stp', 'maybe'], /--stp must be 'on' or 'off', not 'maybe'/],
    [['bridge', 'br0', '-v', '-q'], /--verbose and --quiet exclude each other/],
    [['bridge'], /bridge: needs exactly 1 argument/],
    [['apply', '/nonexistent/topology.yaml'], /topology file '\/nonexistent\/topology\.yaml' does not exist/],
  ];
  for (const [argv, msg] of rows) {
    const io = capture();
    t.equal(await main(argv, io), EXIT.USAGE, `${argv.join(' ')}: exit 2`);
    t.match(io.err, msg, `${argv.join(' ')}: says why`);
    t.equal(io.out, '');
  }
  const io = capture();
  t.equal(await main(['overlay', '--help'], io), EXIT.OK);
  t.match(io.out, /--fix-mtu/, 'help lists the options');
  t.equal(exitCodeFor(new PipewrightError('ERR_PW_APPLY_FAILED', 'm')), EXIT.FAILED, 'a failed apply (rolled back) is exit 4');
});
