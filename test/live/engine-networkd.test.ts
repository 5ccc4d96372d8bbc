// FIELD-NOTES §1 replayed against the engine, with the real agent: a
// systemd-networkd whose `.network` file matches the host ends releases
// every already-enslaved one from its bridge when it restarts (on upgrade,
// on reconfigure) — minutes or days after the attaches returned, far past
// any `--watch`. Here the attaches return with no watch at all; networkd is
// restarted afterwards; the resident engine puts back every port of ours
// that networkd released, and leaves a decoy port (not ours, released too)
// as networkd left it.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { withScene, inNetns } from '../helpers/scene';
import { fast, privateStateDir, startEngine, until, node } from '../helpers/engine';
import { NETWORKD, startNetworkd, type Networkd } from '../../lib/ops/repro/networkd';

function networkdMissing(): string | false {
  // networkd drops privileges to the systemd-network user and mounts its own /run/systemd: a rootless run maps only root.
  if (!/^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'))) return 'not in the host\'s user namespace (rootless run): systemd-networkd needs the systemd-network user, which is not mapped here';
  if (!NETWORKD.some((p) => existsSync(p))) return `systemd-networkd is not installed (none of ${NETWORKD.join(', ')})`;
  try {
    execFileSync('getent', ['passwd', 'systemd-network'], { stdio: 'ignore' });
  } catch {
    return 'the systemd-network user does not exist (networkd drops privileges to it)';
  }
  return false;
}

const PORTS = Array.from({ length: 12 }, (_, k) => `veth${10 + k}`);
const DECOY = 'veth99';
const GLOB = 'veth??';

t.test('networkd restarted long after the attaches returned (no watch): the engine puts back every port it released, and only ours', { skip: networkdMissing() }, (t) =>
  withScene(t, async (s) => {
    const { dir, remove } = privateStateDir();
    s.defer(async () => void remove());
    const engine = await startEngine(s.hostNs, dir);
    s.defer(async () => void (await engine.stop()));
    let nd: Networkd = await startNetworkd(s.hostNs, GLOB);
    s.defer(async () => nd.stop());

    const guests = await Promise.all(PORTS.map(() => s.guest({ named: true })));
    const runs = await Promise.all(guests.map((g, k) => fast(s.hostNs, dir, ['br0', '-i', 'eth1', '-l', PORTS[k]!, g.ns.name!, `10.9.7.${10 + k}/24`])));
    runs.forEach((r, k) => t.equal(r.code, 0, `attach ${PORTS[k]}: ${r.stderr.trim()}`));
    // Someone else's port on the same bridge, matched by networkd too.
    await inNetns(s.hostNs, 'ip', ['link', 'add', DECOY, 'type', 'veth', 'peer', 'name', 'dcy99p']);
    await inNetns(s.hostNs, 'ip', ['link', 'set', DECOY, 'master', 'br0', 'up']);
    await nd.settled([...PORTS, DECOY], 60_000);
    const br0 = (await s.host.link.get('br0')).index;
    const onBridge = async (name: string) => {
      const l = await s.host.link.get(name);
      return l.master === br0 && l.up;
    };
    for (const p of PORTS) t.ok(await onBridge(p), `${p}: a port of br0, up, before the restart`);
    await until('the engine to follow every port', async () => ((await engine.status()).tracked.length === PORTS.length ? true : undefined));
    const repairsBefore = (await engine.status()).repairs as number;

    // The restart: the new networkd configures links that are already enslaved, and releases them.
    await nd.stop();
    nd = await startNetworkd(s.hostNs, GLOB);
    await nd.settled([...PORTS, DECOY], 60_000);
    const released = PORTS.filter((p) => nd.releases.some((l) => l.startsWith(`${p}:`)));
    t.ok(released.length > 0, `networkd released ports of ours (${released.length} of ${PORTS.length}): the field failure happened`);

    await until('every port of ours back on br0', async () => ((await Promise.all(PORTS.map(onBridge))).every(Boolean) ? true : undefined));
    t.pass('every port of ours is a port of br0 again, up');
    const st = await engine.status();
    t.ok((st.repairs as number) - repairsBefore >= released.length, `the engine repaired them (${(st.repairs as number) - repairsBefore} repairs for ${released.length} releases)`);
    for (const p of released) t.match(engine.log(), new RegExp(`${p} \\(link \\d+\\): released from its bridge .*: repaired`), `${p}: the repair is logged`);
    const decoy = await s.host.link.get(DECOY);
    t.not(decoy.master, br0, 'the decoy port, not ours, stays as networkd left it');
    const incidents = st.incidents as Array<{ hostEnd: string; action: string }>;
    t.same(incidents.filter((i) => i.action !== 'repaired'), [], 'nothing reported or failed: networkd released once, at its start, and left the ports alone after');
    t.notOk(incidents.some((i) => i.hostEnd === DECOY), 'nothing happened to the decoy on the engine\'s side');

    for (const g of guests) t.equal((await node(s.hostNs, dir, ['detach', g.ns.name!])).code, 0, `detach ${g.ns.name}`);
    await inNetns(s.hostNs, 'ip', ['link', 'del', DECOY]);
  }),
);
