// podman 4.3 (Debian's, CNI backend) driving the plugin, as its users run it:
// `podman run --network pwnet` containers get addresses from host-local
// through the plugin, ping each other and the gateway; network reload,
// restart and rm -f leave nothing behind; 20 containers started at once all
// work. podman runs fenced in (test/helpers/cni-podman.ts); the plugin is
// found in the CNI_PATH of test/helpers/cni-world.ts. Runs for pipewright and for
// the reference bridge (PW_CNI_TYPES).
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PLUGIN_ENTRY, pluginTypes, type PluginType } from '../helpers/cni-world';
import { Podman, podmanUnavailable } from '../helpers/cni-podman';

const NET = 'pwnet';

function network(p: Podman, type: PluginType): void {
  p.network(NET, [
    {
      type,
      bridge: 'cni0',
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.7.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(p.dir, 'ipam') },
    },
  ]);
}

async function address(p: Podman, name: string): Promise<string> {
  return p.podman('inspect', '-f', `{{.NetworkSettings.Networks.${NET}.IPAddress}}`, name);
}

async function pings(t: Test, p: Podman, from: string, to: string): Promise<void> {
  const out = await p.podman('exec', from, 'ping', '-c1', '-W5', to).catch((e: Error) => e.message);
  t.match(out, /1 packets received/, `${from} pings ${to}`);
}

/** Nothing of the network left: only lo and the bridge, no lease, no netns, no cached result. */
async function assertNothingLeft(t: Test, p: Podman): Promise<void> {
  t.same((await p.links()).filter((l) => l !== 'lo' && l !== 'cni0'), [], 'no host end left');
  t.same([...p.leases(NET).keys()], [], 'no lease left');
  t.same(await p.ls('/run/netns'), [], 'no container netns left');
  t.same(await p.ls('/var/lib/cni/results'), [], "no cached result left in libcni's cache");
  t.same(p.stateFiles(), [], "no record, journal entry or container lock file left in pipewright's state dir");
}

let unavailable: string | null = null;
t.before(async () => {
  unavailable = await podmanUnavailable();
});

for (const type of pluginTypes())
  t.test(type, async (t) => {
    if (unavailable) return t.plan(0, `podman cannot run here: ${unavailable}`);
    if (type === 'pipewright' && !existsSync(PLUGIN_ENTRY)) return t.fail(`${PLUGIN_ENTRY} is missing: the plugin is not built (npm run build:ts) or not there yet`);
    const p = await Podman.start();
    t.teardown(() => p.stop());
    network(p, type);

    await t.test('two containers: addresses from host-local, ping each other and the gateway', async (t) => {
      await p.podman('run', '-d', '--name', 'a', '--network', NET, 'localhost/bb', 'sleep', '1000');
      await p.podman('run', '-d', '--name', 'b', '--network', NET, 'localhost/bb', 'sleep', '1000');
      const [a, b] = [await address(p, 'a'), await address(p, 'b')];
      t.match(a, /^10\.88\.7\.\d+$/, `a has ${a}`);
      t.match(b, /^10\.88\.7\.\d+$/, `b has ${b}`);
      t.not(a, b, 'different addresses');
      const ids = [await p.podman('inspect', '-f', '{{.Id}}', 'a'), await p.podman('inspect', '-f', '{{.Id}}', 'b')];
      t.same(new Map([...p.leases(NET)].sort()), new Map([[a, ids[0]], [b, ids[1]]].sort() as Array<[string, string]>), "host-local's leases, by container ID");
      t.match(await p.podman('exec', 'a', 'ip', '-4', 'addr', 'show', 'eth0'), new RegExp(`inet ${a.replace(/\./g, '\\.')}/24`), 'eth0 inside a has it');
      await pings(t, p, 'a', b);
      await pings(t, p, 'b', a);
      await pings(t, p, 'a', '10.88.7.1');
      t.equal((await p.links()).filter((l) => l !== 'lo' && l !== 'cni0').length, 2, 'two host ends');
    });

    await t.test('podman network reload: still one lease and one host end each, traffic flows', async (t) => {
      await p.podman('network', 'reload', 'a');
      const a = await address(p, 'a');
      t.equal(p.leases(NET).size, 2, 'two leases');
      t.equal((await p.links()).filter((l) => l !== 'lo' && l !== 'cni0').length, 2, 'two host ends');
      await pings(t, p, 'b', a);
    });

    await t.test('podman restart: DEL then ADD, nothing doubled', async (t) => {
      await p.podman('restart', '-t', '0', 'a');
      const a = await address(p, 'a');
      t.equal(p.leases(NET).size, 2, 'two leases');
      t.equal((await p.links()).filter((l) => l !== 'lo' && l !== 'cni0').length, 2, 'two host ends');
      await pings(t, p, 'b', a);
      await pings(t, p, 'a', '10.88.7.1');
    });

    await t.test('podman rm -f (DEL): nothing left', async (t) => {
      await p.podman('rm', '-f', '-t', '0', 'a', 'b');
      await assertNothingLeft(t, p);
    });

    await t.test('20 containers started concurrently all work', async (t) => {
      const names = Array.from({ length: 20 }, (_, i) => `m${i}`);
      const started = await Promise.allSettled(names.map((n) => p.podman('run', '-d', '--name', n, '--network', NET, 'localhost/bb', 'sleep', '1000')));
      t.same(
        started.flatMap((s, i) => (s.status === 'rejected' ? [`${names[i]}: ${(s.reason as Error).message}`] : [])),
        [],
        'every podman run succeeded',
      );
      const addrs = await Promise.all(names.map((n) => address(p, n)));
      t.equal(new Set(addrs).size, 20, 'twenty distinct addresses');
      t.equal(p.leases(NET).size, 20, 'twenty leases');
      for (const n of names) await pings(t, p, n, '10.88.7.1');
      await pings(t, p, 'm0', addrs[19]!);
      await p.podman('rm', '-f', '-t', '0', ...names);
      await assertNothingLeft(t, p);
    });
  });
