// The installed command's manners on a real kernel (issue 16): silent on a
// successful attach and detach, as pipework (-v prints the summary, --json
// everything, -q not even warnings); without privileges, the kernel's
// refusal with what is needed, exit 4, and nothing made.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { spawn } from 'node:child_process';
import { withScene } from '../helpers/scene';
import { cli, finish, MAIN } from '../helpers/cli';

t.test('an attach and a detach print nothing on success; -v the summary; --json everything', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const a = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24');
    t.equal(a.code, 0, a.stderr);
    t.equal(a.stdout, '', 'attach: nothing on stdout');
    t.equal(a.stderr, '', 'attach: nothing on stderr');
    t.ok(await g.handle.link.find('eth1'), 'and it did attach');
    const again = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24', '-v');
    t.match(again.stdout, /^already attached \(nothing was changed\): guest \S+ eth1 /m, '-v: the summary');
    const j = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24', '--json');
    t.equal(JSON.parse(j.stdout).status, 'already-attached', '--json: the result');
    const q = await cli(s.hostNs, 'br0', g.ns.name!, '10.0.0.3/24', '-q');
    t.strictSame([q.code, q.stdout, q.stderr], [0, '', ''], '-q: silent');
    const d = await cli(s.hostNs, 'detach', g.ns.name!);
    t.strictSame([d.code, d.stdout, d.stderr], [0, '', ''], 'detach: silent');
    t.equal(await g.handle.link.find('eth1'), null, 'and it did detach');
  }),
);

t.test('without privileges: the refusal, what is needed, exit 4, nothing made', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    // Every capability dropped (an empty bounding set: even uid 0 gets none at
    // exec), and uid 65534 too where it is mapped: as root it is, while in a
    // rootless run's user namespace only root is mapped and setresuid would fail.
    const nobodyMapped = readFileSync('/proc/self/uid_map', 'utf8').split('\n').some((l) => {
      const [inside, , count] = l.trim().split(/\s+/).map(Number);
      return count !== undefined && inside! <= 65534 && 65534 < inside! + count;
    });
    const drop = ['setpriv', '--bounding-set=-all', '--inh-caps=-all', ...(nobodyMapped ? ['--reuid=65534', '--regid=65534', '--clear-groups'] : [])];
    const child = spawn('nsenter', [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, ...drop, process.execPath, MAIN, 'br0', g.ns.name!, '10.0.0.3/24'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r = await finish(child);
    t.equal(r.code, 4, r.stderr);
    t.match(r.stderr, /^pipewright: .*Operation not permitted \(EPERM\).*: needs root or CAP_NET_ADMIN \(and CAP_SYS_ADMIN for namespaces\)/);
    t.equal(r.stdout, '');
    t.equal(await s.host.link.find('br0'), null, 'no bridge was made');
  }),
);
