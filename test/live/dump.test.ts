// A dump the kernel marks interrupted (NLM_F_DUMP_INTR) is retried, never
// returned torn: thousands of links are listed while another process keeps
// adding and deleting a veth pair in the same namespace.
import t from 'tap';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { withScene } from '../helpers/scene';
import { addon } from '../../lib/core/native';
import { isNetlinkError } from '../../lib';
import type { Link } from '../../lib';

const PAIRS = 1500;
const GROUP = 5;
// At least this many lists, and more until one was interrupted and one came
// back (both states are what the test is about), up to the cap.
const MIN_LISTS = 20;
const MAX_LISTS = 200;

/** Everything that makes a link list torn, as messages (empty: consistent). */
function inconsistencies(links: Link[]): string[] {
  const problems: string[] = [];
  const byIndex = new Map<number, Link>();
  for (const l of links) {
    if (byIndex.has(l.index)) problems.push(`index ${l.index} twice (${byIndex.get(l.index)!.name}, ${l.name})`);
    byIndex.set(l.index, l);
  }
  if (new Set(links.map((l) => l.name)).size !== links.length) problems.push('a name twice');
  for (const l of links) {
    if (l.kind !== 'veth' || l.linkNetnsId !== undefined || l.link === undefined) continue;
    const peer = byIndex.get(l.link);
    if (!peer) problems.push(`${l.name}'s peer (index ${l.link}) is missing`);
    else if (peer.link !== l.index) problems.push(`${l.name} -> ${peer.name} does not point back`);
  }
  const churned = links.filter((l) => l.name === 'cx0' || l.name === 'cx1').length;
  if (churned === 1) problems.push('only one of cx0/cx1');
  const ours = links.filter((l) => /^d\d+[ab]$/.test(l.name)).length;
  if (ours !== 2 * PAIRS) problems.push(`${ours} of the ${2 * PAIRS} static veths`);
  return problems;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid!, 'SIGKILL'); // its process group: the shell and the ip it is running
  return exited;
}

t.test('link dumps under churn are retried and never torn', (t) =>
  withScene(t, async (s) => {
    const started = Date.now();
    for (let base = 0; base < PAIRS; base += 250) {
      await s.host.runBatch(
        Array.from({ length: Math.min(250, PAIRS - base) }, (_, i) => ({
          op: 'link.add',
          args: { kind: 'veth', name: `d${base + i}a`, group: GROUP, peer: { name: `d${base + i}b`, group: GROUP } },
        })),
      );
    }
    const first = await s.host.link.list();
    t.same(inconsistencies(first), [], `${first.length} links, consistent before any churn`);
    t.comment(`created ${PAIRS} veth pairs in ${Date.now() - started} ms`);

    // Its first pair, announced as an event, proves the churner runs.
    const w = s.host.watch(['link']);
    s.defer(() => w.close());
    await w.ready;
    const churner = spawn(
      'nsenter',
      // Bursts of changes, each followed by a pause longer than a list takes even on a loaded machine: lists during a
      // burst are interrupted and retried, and the retries get through in a pause, however slow the machine is.
      [`--net=/proc/${process.pid}/fd/${s.hostNs.fd}`, 'sh', '-c', 'while :; do i=0; while [ $i -lt 20 ]; do ip link add cx0 type veth peer name cx1; ip link del cx0; i=$((i+1)); done; sleep 0.2; done'],
      { stdio: 'ignore', detached: true },
    );
    s.defer(() => stop(churner));
    t.teardown(() => stop(churner));
    const churning = await w.waitFor((ev) => ev.kind === 'link' && ev.action === 'new' && ev.link.name === 'cx0', 3000).catch(() => null);
    t.ok(churning, 'the churner is adding and deleting cx0/cx1 in the namespace');
    await w.close(); // not during the lists: it would compete with them for the two CPUs

    // A list either is consistent or fails with EINTR once the bounded
    // retries are spent (possible under this much churn): never torn.
    const retriesBefore = addon().stats().dumpRetries;
    const torn: string[] = [];
    let lists = 0;
    let refused = 0;
    let sawChurned = 0;
    const listStart = Date.now();
    const retried = () => addon().stats().dumpRetries > retriesBefore;
    while (lists < MAX_LISTS && (lists < MIN_LISTS || lists === refused || !retried())) {
      lists++;
      const links = await s.host.link.list().catch((e: unknown) => {
        if (!isNetlinkError(e, 'EINTR')) throw e;
        refused++;
        return null;
      });
      if (!links) continue;
      if (links.some((l) => l.name === 'cx0')) sawChurned++;
      const problems = inconsistencies(links);
      if (problems.length) torn.push(`list ${lists}: ${problems.slice(0, 3).join('; ')}`);
    }
    const retries = addon().stats().dumpRetries - retriesBefore;
    t.comment(`${lists} lists of ${first.length}+ links in ${Date.now() - listStart} ms: ${retries} interrupted dumps retried, ${refused} lists refused (EINTR), the churned pair in ${sawChurned}`);
    t.same(torn, [], `every list returned was consistent`);
    t.ok(lists - refused > 0, `${lists - refused} of ${lists} lists succeeded despite the churn`);
    t.ok(retries > 0, retries > 0
      ? `the kernel interrupted ${retries} dumps and each was retried`
      : `no dump was interrupted in ${lists} lists under churn: the retry path was not exercised, so this test proves nothing`);

    await stop(churner);
    if (await s.host.link.find('cx0')) await s.host.link.del('cx0'); // killed between its add and del
    await s.host.link.delGroup(GROUP);
    t.same((await s.host.link.list()).map((l) => l.name), ['lo'], 'every veth is gone');
  }),
);
