// gc and doctor reading the journal: a crashed attach (killed after it
// created its veth), a failed one whose own rollback left its host end, an
// entry whose attachment was removed by hand and a genuinely leaked link are
// each listed by doctor and gc --dry-run, and gc removes exactly that list;
// `gc --complete` rolls a crashed attach back and runs it again.
import t from 'tap';
import { attach, PIPEWRIGHT_GROUP } from '../../lib';
import { doctor, gc } from '../../lib/ops/forensics';
import { AttachmentRecord, classify, identityPrefix, netnsCookie, readEntries, ownerAlias, sameHost } from '../../lib/ops/ownership';
import { withScene, inNetns } from '../helpers/scene';
import { cli } from '../helpers/cli';
import { attachInChild, journalOf } from '../helpers/crash';

const killAfter = (step: string) => ({ PIPEWRIGHT_FAILPOINT: step, PIPEWRIGHT_FAILPOINT_ACTION: 'kill' });

t.test('crashed, failed, vanished and leaked: doctor and gc --dry-run list them, gc removes exactly those', (t) =>
  withScene(t, async (s) => {
    await s.host.link.add({ kind: 'bridge', name: 'br0', up: true });
    // Entries of namespaces that died before this scene got their inodes: gone first.
    await gc({ host: s.host });
    const [crashedG, failedG, goneG, liveG] = await Promise.all([1, 2, 3, 4].map(() => s.guest({ named: true })));
    // Crashed: killed right after its veth was created.
    const out = await attachInChild(s.hostNs, { hostIf: 'br0', guest: crashedG!.ns.name!, address: '10.5.0.2/24' }, { env: killAfter('create veth') });
    t.equal(out.signal, 'SIGKILL');
    // Failed: its rollback could not delete its host end (made here by hand, with the mark).
    const failedEnd = 'vfailed0';
    await s.host.link.add({ kind: 'veth', name: failedEnd, group: PIPEWRIGHT_GROUP, alias: ownerAlias('pipewright', failedG!.ns.id, 'eth1'), master: 'br0', up: true, peer: { name: 'eth1', netns: failedG!.ns } });
    const rec = await AttachmentRecord.begin({
      owner: 'pipewright', hostNetns: s.hostNs.id, guestNetns: failedG!.ns.id, guestIf: 'eth1', mode: 'bridge', hostIf: 'br0', createsBridge: false, hostEnd: failedEnd, group: PIPEWRIGHT_GROUP,
      alias: ownerAlias('pipewright', failedG!.ns.id, 'eth1'), guest: { kind: 'named', label: failedG!.ns.name!, name: failedG!.ns.name!, path: failedG!.ns.path! },
      spec: { hostIf: 'br0', guestIf: 'eth1', directPhys: false, arp: true, owner: 'pipewright', group: PIPEWRIGHT_GROUP },
    });
    await rec.failed([`delete ${failedEnd} (failed: injected)`]);
    // Vanished: attached, then its host end removed with ip.
    const gone = await attach({ host: s.host, hostIf: 'br0', guest: goneG!.ns, address: '10.5.0.3/24' });
    await inNetns(s.hostNs, 'ip', ['link', 'del', gone.hostEnd!.name]);
    // Healthy, and a genuinely leaked link.
    const live = await attach({ host: s.host, hostIf: 'br0', guest: liveG!.ns, address: '10.5.0.4/24' });
    await s.host.link.add({ kind: 'veth', name: 'vleak0', group: PIPEWRIGHT_GROUP, alias: `pipewright owner=pipewright guest=${s.hostNs.dev}:12345 if=eth1`, peer: { name: 'vleak0p' } });

    const d = await doctor({ host: s.host, only: ['pipewright-unfinished', 'pipewright-leaked'] });
    const unfinished = d.checks.find((c) => c.id === 'pipewright-unfinished')!;
    t.equal(unfinished.ok, false);
    t.equal(unfinished.objects.length, 2, 'doctor: the crashed and the failed attach');
    t.match(unfinished.verdict, /stopped half-way: the process is gone/);
    t.match(unfinished.verdict, /failed and could not undo delete vfailed0/);
    t.match(unfinished.fix, /pipewright gc/);
    t.ok(unfinished.objects.every((o) => /remove it with 'pipewright gc' \(or just this one: 'pipewright detach netns:\S+ -i eth1'\), or finish it with 'pipewright gc --complete'/.test(o.detail ?? '')), 'each with the commands that remove or finish it');
    t.equal(d.checks.find((c) => c.id === 'pipewright-leaked')!.objects.map((o) => o.name).join(), 'vleak0');

    const text = await cli(s.hostNs, 'doctor', '--only', 'pipewright-unfinished');
    t.equal(text.code, 5, 'the CLI exits 5: something found');
    t.match(text.stdout, /FAIL {2}pipewright-unfinished: 2 half-made or crashed attachment\(s\)/);

    const lists = (r: Awaited<ReturnType<typeof gc>>) => ({ links: r.links.map((l) => l.name), attachments: r.attachments.map((a) => [a.guest, a.status]).sort(), forgotten: r.forgotten });
    const dry = await gc({ host: s.host, dryRun: true });
    t.same(lists(dry).links, ['vleak0']);
    t.same(lists(dry).attachments, [[crashedG!.ns.name, 'crashed'], [failedG!.ns.name, 'failed']].sort());
    t.equal(dry.forgotten.length, 1, 'and the entry of the attachment removed by hand');
    t.ok(await s.host.link.find(failedEnd), 'a dry run changes nothing');
    const real = await gc({ host: s.host });
    t.same(lists(real), lists(dry), 'gc removes exactly what its dry run listed');
    t.same(real.attachments.flatMap((a) => [...a.failed, ...a.leftBehind]), [], 'every rollback completed');
    t.equal(await s.host.link.find(failedEnd), null, "the failed attach's host end is gone");
    t.equal(await crashedG!.handle.link.find('eth1'), null, "the crashed attach's veth is gone");
    t.equal(await s.host.link.find('vleak0'), null, 'the leaked link is gone');
    t.ok(await s.host.link.find(live.hostEnd!.index), 'the healthy attachment stays');
    const hostCookie = await netnsCookie(s.host);
    t.same(await journalOf(s.host, s.hostNs.id), (await readEntries(identityPrefix(liveG!.ns.id, 'eth1'))).filter((e) => e.entry.hostNetns === s.hostNs.id && sameHost(e.entry, hostCookie)).map((e) => e.file), 'only the healthy entry is left in the journal');
    const again = await gc({ host: s.host });
    t.same([again.links, again.attachments, again.forgotten], [[], [], []], 'a second gc finds nothing');
  }),
);

t.test('gc --complete: the crashed attach rolled back, then run again from its journal entry', (t) =>
  withScene(t, async (s) => {
    const g = await s.guest({ named: true });
    const out = await attachInChild(s.hostNs, { hostIf: 'br0', guest: g.ns.name!, address: '10.6.0.2/24', gateway: '10.6.0.1' }, { env: killAfter('add 10.6.0.2/24') });
    t.equal(out.signal, 'SIGKILL');
    const rerun = await cli(s.hostNs, 'br0', g.ns.name!, '10.6.0.2/24@10.6.0.1');
    t.equal(rerun.code, 6, 'a plain re-run is a conflict');
    t.match(rerun.stderr, /pipewright's own leftover: the attach that made it \(pid \d+, started .*\) did not finish; its process is gone/);
    t.match(rerun.stderr, /remove it with 'pipewright gc'.*or finish it with 'pipewright gc --complete'/);
    const r = await cli(s.hostNs, 'gc', '--complete', '--json');
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { attachments: Array<{ status: string; completed?: { status?: string } }> };
    t.match(res.attachments, [{ status: 'crashed', completed: { status: 'attached' } }], 'rolled back and attached again');
    const eth1 = await g.handle.link.get('eth1');
    t.ok(eth1.up, 'eth1 is up in the guest');
    t.ok((await g.handle.addr.list({ dev: eth1.index })).some((a) => a.address === '10.6.0.2'), 'with its address');
    t.ok((await g.handle.route.list({ family: 4 })).some((x) => x.dst === 'default' && x.gateway === '10.6.0.1'), 'and its default route');
    const cookie = await netnsCookie(g.handle);
    t.same((await classify((await readEntries(identityPrefix(g.ns.id, 'eth1'))).filter((e) => e.entry.guestCookie === cookie))).map((c) => c.status), ['complete'], 'one complete journal entry');
    t.equal((await cli(s.hostNs, 'br0', g.ns.name!, '10.6.0.2/24@10.6.0.1')).code, 0, 'the re-run now finds it attached');
    t.equal((await cli(s.hostNs, 'gc', '--complete', '--dry-run')).code, 2, '--complete and --dry-run do not go together');
  }),
);
