// gc must not mistake "could not confirm" for "gone" (issue 11). A guest
// namespace held only by an fd opened through its name, the name since
// removed (`ip netns del` while a program keeps its fd), reads as '/' in
// /proc, so the scan confirms it by opening that fd. When the open fails for
// a reason other than the fd going away (here: too many open files,
// injected), the namespace may well be alive, and the link whose guest it is
// must be left alone. The old scan dropped such a namespace silently, and
// gc deleted the healthy link as "guest gone".
import t from 'tap';
import { statSync } from 'node:fs';
import { PIPEWRIGHT_GROUP } from '../../lib';
import { gc, scanNamespaces } from '../../lib/ops/forensics';
import { ownerAlias } from '../../lib/ops/ownership';
import { addon, setTransport, type Transport } from '../../lib/core/native';
import { Handle, Netns } from '../../lib';
import { withScene, uniqueName } from '../helpers/scene';

/**
 * The addon, except that opening the guest's namespace through an fd fails as
 * with too many open files: this process's fds, and any other process's fd
 * that holds it too (a test file running beside this one may have opened it
 * through ours, as a scan of everything does).
 */
function failingFdOpens(guest: { dev: number; ino: number }): Transport {
  const real = addon();
  const ours = `/proc/${process.pid}/fd/`;
  const holdsGuest = (path: string) => {
    try {
      if (!/^\/proc\/\d+\/fd\//.test(path)) return false;
      const st = statSync(path);
      return st.dev === guest.dev && st.ino === guest.ino;
    } catch {
      return false;
    }
  };
  return new Proxy(real, {
    get(target, key) {
      if (key === 'netnsOpenPath') {
        return async (path: string) => {
          if (path.startsWith(ours) || holdsGuest(path)) throw Object.assign(new Error(`open ${path}: Too many open files`), { code: 'EMFILE' });
          return target.netnsOpenPath(path);
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

t.test('a guest held by an fd the scan cannot open is uncertain, not gone: its link survives gc', (t) =>
  withScene(t, async (s) => {
    // The guest: named, opened through its name, the name removed; only that fd holds it.
    const name = uniqueName('held');
    const made = await Netns.create({ name });
    const g = await Netns.open({ name });
    await made.close();
    await Netns.remove(name);
    s.defer(() => g.close());
    const alias = ownerAlias('pipewright', g.id, 'eth1');
    await s.host.link.add({ kind: 'veth', name: 'vheld0', group: PIPEWRIGHT_GROUP, alias, up: true, peer: { name: 'eth1', netns: g } });
    // A genuinely leaked one beside it (its guest inode cannot exist), so gc has work and is seen doing it.
    await s.host.link.add({ kind: 'veth', name: 'vleak0', group: PIPEWRIGHT_GROUP, alias: ownerAlias('pipewright', `${s.hostNs.dev}:12345`, 'eth1'), peer: { name: 'vleak0p' } });

    setTransport(failingFdOpens(g));
    try {
      const scan = await scanNamespaces({ all: true, detail: true });
      t.notOk(scan.namespaces.some((n) => n.id === g.id), 'the guest could not be confirmed through our fd');
      t.match(scan.uncertain, [{ id: g.id, why: /Too many open files/ }], 'and the scan says so, with the reason');
      const dry = await gc({ host: s.host, dryRun: true });
      t.strictSame(dry.links.map((l) => l.name), ['vleak0'], 'gc --dry-run: only the leaked link');
      const real = await gc({ host: s.host });
      t.strictSame(real.links.map((l) => l.name), ['vleak0'], 'gc: only the leaked link');
    } finally {
      setTransport(undefined);
    }
    const held = await s.host.link.find('vheld0');
    t.ok(held && held.alias === alias, 'the link of the unconfirmed guest is still there, unchanged');
    t.equal(await s.host.link.find('vleak0'), null, 'the leaked one is gone');
    const inside = await Handle.open(g);
    t.ok(await inside.link.find('eth1'), "the guest's end too");
    await inside.close();
    // With the fd readable again, the guest is confirmed and nothing is judged leaked.
    const after = await gc({ host: s.host, dryRun: true });
    t.strictSame(after.links, [], 'confirmed: nothing to collect');
  }),
);
