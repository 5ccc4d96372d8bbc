// §3 The namespace that outlived its container: after the container is
// removed the Docker way, `ip netns list` and a sweep of every process's
// namespace no longer see it, while a mount in another mount namespace keeps
// it and its copy of the pod IP alive. pipewright's scan finds it and names
// that mount, find-ip reports the duplicate, and the release it suggests
// frees it.
import t from 'tap';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../helpers/repro';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('namespace-outlived', async (t) => {
  const { s, old, pw } = await runScenario(t, 'namespace-outlived');
  t.equal(old.deleteExit, 0, '`ip netns delete` claims success');
  t.equal(old.ghostSeen, false, 'the old way never sees the old namespace');
  t.equal(old.staleHostEnd, true, 'while its veth host end is still on the bridge');
  t.ok((old.processNamespaces as number) >= 2, 'the /proc sweep did look at namespaces (ours and the new pod at least)');
  t.ok(!(s.details.oldWayFoundIn as string[]).includes(`net:[${String(s.details.ghost).split(':')[1]}]`), 'the IP search did not reach the ghost');
  t.equal(pw.ghostFound, true, 'pipewright finds it');
  // The monitor's file is made under os.tmpdir(), which honours TMPDIR.
  t.match(pw.holderMountPoint, new RegExp(`^${escapeRe(join(tmpdir(), 'pw-monitor-'))}[^/]+/net$`), "held by the monitor's own mount");
  t.equal(pw.conflict, true, 'find-ip: the pod IP is in two namespaces');
  const copies = s.details.findIp as Array<{ netns: string }>;
  t.match(copies.find((m) => m.netns === s.details.ghost), { ifname: 'eth0', flags: { orphan: true, unreachableFromHere: true } }, 'the ghost copy is flagged');
  t.ok(copies.some((m) => m.netns === s.details.newPod), "and the new pod's copy is the other one");
  t.ok(s.checks.length >= 15, 'every step was checked');
  t.ok(s.pass, 'PASS');
});
