// Attaches that did not finish: the journal's crashed ones (in progress, but
// their process is gone) and failed ones (their rollback left something),
// and, for host ends the journal does not know, the signature of a half-made
// attachment: a pipewright host end up and enslaved whose guest side was
// never brought up. Each with the exact command that removes or finishes it.
import { classify, cliGuestRef, fixFor, journalPath, netnsCookie, parseOwnerAlias, readEntries, sameHost } from '../../ownership';
import type { DoctorObject } from './types';
import { Check, failed, linkAt, passed, some } from './types';

export const unfinishedAttaches: Check = async (ctx) => {
  const id = 'pipewright-unfinished';
  const cookie = await netnsCookie(ctx.target).catch(() => undefined);
  const entries = await classify((await readEntries()).filter((s) => s.entry.hostNetns === ctx.targetId && sameHost(s.entry, cookie)));
  const objects: DoctorObject[] = [];
  const lines: string[] = [];
  const fixes = new Set<string>();
  for (const c of entries) {
    if (c.status !== 'crashed' && c.status !== 'failed') continue;
    const e = c.entry;
    const what = `${e.guestIf} in guest ${e.guest.label}${e.hostEnd ? ` (host end ${e.hostEnd})` : ''}`;
    const why = c.status === 'failed' ? `its attach failed and could not undo ${e.leftBehind?.join(', ') ?? 'everything'}` : `its attach (pid ${e.process.pid}, started ${e.startedAt}) stopped half-way: the process is gone`;
    lines.push(`${what}: ${why}`);
    const fix = fixFor(e);
    fixes.add(fix);
    objects.push({ kind: 'file', path: `${journalPath()}/${c.file}`, netns: ctx.targetId, ...(e.hostEnd ? { name: e.hostEnd } : {}), detail: `${what}: ${why}; ${fix}` });
  }
  // Host ends the journal does not account for.
  const known = new Set(entries.map((c) => c.entry.hostEnd));
  for (const l of ctx.links) {
    const mark = parseOwnerAlias(l.alias);
    if (!mark || l.kind !== 'veth' || known.has(l.name) || !l.up || l.master === null) continue;
    const at = ctx.pairing.peerOf({ ns: ctx.targetId, index: l.index });
    const peer = linkAt(ctx, at);
    if (!at || !peer || peer.up) continue;
    const ns = ctx.byId.get(at.ns);
    const name = ns?.names[0]?.name;
    const pid = ns?.processes[0]?.pid;
    const ref = cliGuestRef({ kind: name ? 'named' : 'pid', label: '', ...(name ? { name } : {}), ...(pid !== undefined ? { pid } : {}) });
    const fix = ref ? `pipewright detach ${ref} -i ${peer.name}` : `ip link del ${l.name}`;
    const what = `${l.name}: a port of its bridge, but its guest side ${peer.name} in ${at.ns} was never brought up (a half-made attachment; no journal entry)`;
    lines.push(what);
    fixes.add(`remove it with '${fix}', then attach again`);
    objects.push({ kind: 'link', netns: ctx.targetId, name: l.name, index: l.index, detail: `${what}; remove it with '${fix}'` });
  }
  const live = entries.filter((c) => c.status === 'in-progress').length;
  if (!objects.length) return passed(id, `no half-made attachment${live ? ` (${live} attach(es) at work right now)` : ''}`);
  return failed(id, `${objects.length} half-made or crashed attachment(s): ${some(lines, 3)}`, some([...fixes], 2), objects);
};
