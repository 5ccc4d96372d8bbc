// A batch plan written as JSON accepts exactly the fields the command line
// can set (issue 11, item 4): every other field is a usage error naming it,
// before anything runs. Pure: no privileges, nothing touches the kernel.
import t from 'tap';
import { parseJsonPlan, PLAN_FIELDS } from '../../lib/cli/plan-json';
import { exitCodeFor, EXIT } from '../../lib/cli/exit-codes';

const base = { hostIf: 'br0', guest: 'web1', address: '10.0.0.19/16' };
const plan = (...entries: unknown[]) => JSON.stringify(entries);

t.test('every command-line field is accepted, as are the explicit guest forms', async (t) => {
  const full = {
    hostIf: 'br0', guest: 'netns:web1', guestIf: 'eth0', hostEnd: 'vh1', address: '10.0.0.3/24', gateway: '10.0.0.1',
    mac: 'U:web1', vlan: 10, directPhys: false, mtu: 1400, arp: false, ipv6LinkLocal: true, owner: 'ci',
  };
  t.same(Object.keys(full).sort(), PLAN_FIELDS.filter((f) => f !== 'dhcp').sort(), 'the test covers every field but dhcp');
  t.same(parseJsonPlan(plan(full), 'p.json'), [full]);
  const dhcp = { hostIf: 'br0', guest: 'web1', dhcp: { client: 'udhcpc', foreground: true, options: ['-t', '5'], timeoutMs: 5000 } };
  t.same(parseJsonPlan(plan(dhcp), 'p.json'), [dhcp]);
  for (const guest of [{ name: 'web1' }, { pid: 1234 }, { path: '/proc/1234/ns/net' }, { container: 'web' }]) {
    t.same(parseJsonPlan(plan({ ...base, guest }), 'p.json')[0]!.guest, guest, JSON.stringify(guest));
  }
});

t.test('fields the command line cannot set are refused, naming the field (exit 2)', async (t) => {
  const rows: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ runDir: '/tmp/x' }, 'runDir', /where named namespaces are created/],
    [{ runDir: '/' }, 'runDir', /where named namespaces are created/],
    [{ group: 7 }, 'group', /link group/],
    [{ host: {} }, 'host', /handle/],
    [{ watchMs: 100 }, 'watchMs', /does not watch/],
    [{ repair: true }, 'repair', /does not watch or repair/],
    [{ frobnicate: 1 }, 'frobnicate', /is not a field a plan accepts \(hostIf, guest,/],
    [{ guest: { name: 'x', runDir: '/tmp/x' } }, 'guest.runDir', /is not accepted in a plan/],
    [{ guest: { name: 'x', pid: 1 } }, 'guest', /exactly one of name, pid, path, container/],
    [{ guest: { name: '..' } }, 'guest.name', /single path component/],
    [{ guest: { name: 'a/b' } }, 'guest.name', /single path component/],
    [{ guest: ['web1'] }, 'guest', /must be a string/],
  ];
  for (const [extra, field, why] of rows) {
    const text = plan(base, { ...base, ...extra });
    let err: any;
    try {
      parseJsonPlan(text, 'p.json');
    } catch (e) {
      err = e;
    }
    t.match(err, { code: 'ERR_PW_INVALID_ARGUMENT', field, message: new RegExp(`^entry 2: field '${field.replace('.', '\\.')}' .*${why.source}`) }, JSON.stringify(extra));
    t.equal(exitCodeFor(err), EXIT.USAGE);
  }
});

t.test('malformed plans are usage errors naming the problem', async (t) => {
  t.throws(() => parseJsonPlan('[{"hostIf": "br0",]', 'plan.json'), { code: 'ERR_PW_INVALID_ARGUMENT', message: /^plan\.json is not valid JSON: / });
  t.throws(() => parseJsonPlan('[1]', 'plan.json'), { message: /^entry 1: must be an object of attach fields/ });
  t.throws(() => parseJsonPlan('[null]', 'plan.json'), { message: /^entry 1: must be an object/ });
  t.throws(() => parseJsonPlan('[[]]', 'plan.json'), { message: /^entry 1: must be an object/ });
  t.throws(() => parseJsonPlan('[{"hostIf":"br0"', '-'), { message: /^the plan on stdin is not valid JSON/ });
});
