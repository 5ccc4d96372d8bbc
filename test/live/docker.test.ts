// The Docker path end to end, as pipework users run it: containers found BY
// NAME through the engine's API (lib/ops/docker.ts, the socket in DOCKER_HOST),
// attached to a bridge, and real traffic between them. dockerd runs in its
// own network and mount namespaces (scripts/docker-sandbox.sh); the attach
// host is each test's scene namespace. Container namespaces are reached by
// PID, the engine by its socket's path, so neither needs to share the other's
// network namespace.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { attach, detach, PipewrightError } from '../../lib';
import { withScene } from '../helpers/scene';
import { Engine, alive } from '../helpers/docker';

let engine: Engine | null = null;
let unavailable = '';

t.before(async () => {
  const e = await Engine.start('safe');
  if (!(e instanceof Engine)) {
    unavailable = e.unavailable;
    return;
  }
  engine = e;
  t.comment(e.log);
  // lib/ops/docker.ts asks the engine named here.
  process.env.DOCKER_HOST = e.dockerHost;
  for (const name of ['pw-a', 'pw-b']) await e.docker('run', '-d', '--name', name, '--net', 'none', 'pw-busybox', 'sleep', '1000');
});

// Whatever happens, no dockerd outlives the file.
t.teardown(async () => {
  await engine?.stop();
});

/** A test that needs the engine: skipped, with the reason, when there is none. */
function dockerTest(name: string, fn: (t: Test, e: Engine) => Promise<void>): void {
  t.test(name, async (t) => {
    if (!engine) return t.plan(0, `no Docker engine here: ${unavailable}`);
    await fn(t, engine);
  });
}

const notFound = (e: unknown): PipewrightError | undefined => (e instanceof PipewrightError && e.code === 'ERR_PW_GUEST_NOT_FOUND' ? e : undefined);

dockerTest('two containers by name on a bridge: real traffic between them', (t, e) =>
  withScene(t, async (s) => {
    const pidA = Number(await e.docker('inspect', '-f', '{{.State.Pid}}', 'pw-a'));
    const idA = await e.docker('inspect', '-f', '{{.Id}}', 'pw-a');
    const a = await attach({ host: s.host, hostIf: 'br0', guest: 'pw-a', address: '10.0.7.2/24' });
    t.equal(a.status, 'attached');
    t.equal(a.guest.container?.name, 'pw-a', 'resolved by name through the engine API');
    t.equal(a.guest.container?.id, idA, 'the id the engine reports');
    t.equal(a.guest.pid, pidA, "the container's PID, as docker inspect has it");
    t.same(a.guest.addresses, ['10.0.7.2/24']);
    t.same(a.warnings, [], 'no firewall warning in a namespace whose FORWARD policy is ACCEPT');

    const b = await attach({ host: s.host, hostIf: 'br0', guest: 'pw-b', address: '10.0.7.3/24' });
    t.equal(b.guest.container?.name, 'pw-b');
    t.equal(b.guest.pid, Number(await e.docker('inspect', '-f', '{{.State.Pid}}', 'pw-b')));

    // Seen from inside the containers, by docker's own tools.
    t.match(await e.docker('exec', 'pw-a', 'ip', 'addr', 'show', 'eth1'), /inet 10\.0\.7\.2\/24/, 'docker exec sees the address');
    t.ok(await e.docker('exec', 'pw-a', 'ping', '-c1', '-W2', '10.0.7.3').then(() => true, () => false), 'pw-a pings pw-b over the bridge');
    t.ok(await e.docker('exec', 'pw-b', 'ping', '-c1', '-W2', '10.0.7.2').then(() => true, () => false), 'and back');

    const again = await attach({ host: s.host, hostIf: 'br0', guest: 'pw-a', address: '10.0.7.2/24' });
    t.equal(again.status, 'already-attached', 're-running the same attach changes nothing');

    const da = await detach({ guest: 'pw-a', host: s.host });
    t.equal(da.guest, 'pw-a');
    t.match(da.removed.join('\n'), /deleted eth1[\s\S]*host end .* went with it/);
    t.ok(await e.dockerFails('exec', 'pw-a', 'ip', 'link', 'show', 'eth1'), 'eth1 is gone from the container');
    await detach({ guest: 'pw-b', host: s.host });
    t.same((await s.host.link.list()).map((l) => l.name).sort(), ['br0', 'lo'], 'only the bridge is left in the scene');
  }),
);

dockerTest("the explicit forms: 'docker:NAME', {container: NAME}, 'docker:ID'", (t, e) =>
  withScene(t, async (s) => {
    const a = await attach({ host: s.host, hostIf: 'br0', guest: 'docker:pw-a', address: '10.0.7.2/24' });
    t.equal(a.guest.container?.name, 'pw-a', "'docker:pw-a'");
    const b = await attach({ host: s.host, hostIf: 'br0', guest: { container: 'pw-b' }, address: '10.0.7.3/24' });
    t.equal(b.guest.container?.name, 'pw-b', '{container: pw-b}');
    t.ok(await e.docker('exec', 'pw-b', 'ping', '-c1', '-W2', '10.0.7.2').then(() => true, () => false), 'traffic flows');

    // The engine takes ids too (a full one: an all-digit prefix would read as a PID).
    const idB = await e.docker('inspect', '-f', '{{.Id}}', 'pw-b');
    t.equal((await detach({ guest: `docker:${idB}`, host: s.host })).guest, 'pw-b', "'docker:<id>' names the container");
    t.equal((await detach({ guest: { container: 'pw-a' }, host: s.host })).guest, 'pw-a');
    t.ok(await e.dockerFails('exec', 'pw-a', 'ip', 'link', 'show', 'eth1'), 'eth1 gone from pw-a');
    t.ok(await e.dockerFails('exec', 'pw-b', 'ip', 'link', 'show', 'eth1'), 'eth1 gone from pw-b');
    t.same((await s.host.link.list()).map((l) => l.name).sort(), ['br0', 'lo']);
  }),
);

dockerTest('unknown and stopped containers: ERR_PW_GUEST_NOT_FOUND, nothing created', (t, e) =>
  withScene(t, async (s) => {
    const socket = e.dockerHost.slice('unix://'.length);
    for (const guest of ['pw-nope', 'docker:pw-nope', { container: 'pw-nope' }]) {
      const err = notFound(await attach({ host: s.host, hostIf: 'br0', guest, address: '10.0.7.2/24' }).catch((x: unknown) => x));
      t.ok(err, `${JSON.stringify(guest)}: ERR_PW_GUEST_NOT_FOUND`);
      t.match(err?.message, `no container of that name on ${socket}`, 'the message names the socket that was asked');
    }

    await e.docker('run', '-d', '--name', 'pw-stopped', '--net', 'none', 'pw-busybox', 'sleep', '1000');
    await e.docker('kill', 'pw-stopped');
    const err = notFound(await attach({ host: s.host, hostIf: 'br0', guest: 'pw-stopped', address: '10.0.7.4/24' }).catch((x: unknown) => x));
    t.ok(err, 'a stopped container: ERR_PW_GUEST_NOT_FOUND');
    t.match(err?.message, /container pw-stopped \([0-9a-f]{12}\) is not running/);
    await e.docker('rm', '-f', 'pw-stopped');
    t.same((await s.host.link.list()).map((l) => l.name), ['lo'], 'not even the bridge was created');
  }),
);

dockerTest('teardown: containers and dockerd gone, and the engine is reported unreachable', async (t, e) => {
  const pids = [Number(await e.docker('inspect', '-f', '{{.State.Pid}}', 'pw-a')), Number(await e.docker('inspect', '-f', '{{.State.Pid}}', 'pw-b'))];
  await e.docker('rm', '-f', 'pw-a', 'pw-b');
  t.equal(await e.docker('ps', '-aq'), '', 'no container left');
  t.notOk(pids.some(alive), "the containers' processes are gone");
  await e.stop();
  t.notOk(alive(e.pid), 'dockerd is gone');
  t.notOk(existsSync(e.dir), 'its directory is removed');
  const err = notFound(await detach({ guest: 'docker:pw-a' }).catch((x: unknown) => x));
  t.match(err?.message, `no engine answered on ${e.dockerHost.slice('unix://'.length)} (ENOENT)`, 'a vanished engine is not "no such container"');
});
