// One try of the crash matrix: kill an attach (at a step boundary, or at a
// random moment), then check what the ownership model promises:
//  - the journal entry was written before the first kernel change (no entry:
//    nothing changed);
//  - doctor reports the half-made attachment with the command that removes it;
//  - re-running the attach meets it as pipewright's own leftover, naming that
//    command;
//  - gc --dry-run and gc list the same; gc restores the state exactly (links
//    with their marks, addresses, routes; the journal; decoys untouched);
//  - the attach then succeeds.
// An attach that finished before the kill is a healthy attachment: gc must
// leave it, detach removes it.
import type { Test } from 'tap';
import { attach, detach } from '../../lib';
import { doctor, gc } from '../../lib/ops/forensics';
import { classify, identityPrefix, netnsCookie, readEntries, sameGuest } from '../../lib/ops/ownership';
import type { Guest, Scene } from './scene';
import { DECOYS, journalOf, markedState, prepareChild, tempFilesOf, type PreparedChild } from './crash';

export type Outcome = 'crashed' | 'completed' | 'untouched';

export interface TryResult {
  outcome: Outcome;
  /** For a finished attach: how long it took, and how long from its journal entry to its completion. */
  ms?: number;
  journaledMs?: number;
}

export interface CrashTry {
  spec: Record<string, unknown> & { hostIf: string; guestIf?: string };
  env?: Record<string, string>;
  killAfterMs?: number;
  /** What killAfterMs counts from (default: the attach's start). */
  killFrom?: 'start' | 'journal';
  label: string;
  /** A child started earlier for this try (prepareChild with the same spec and env). */
  child?: PreparedChild;
}

/** Starts the child a try will use, early. */
export function childFor(s: Scene, g: Guest, c: Omit<CrashTry, 'child'>): PreparedChild {
  return prepareChild(s.hostNs, { ...c.spec, guest: g.ns.name! }, c.env ?? {});
}

async function stateOf(s: Scene, g: Guest) {
  return { host: await markedState(s.host), guest: await markedState(g.handle), journal: await journalOf(s.host, s.hostNs.id) };
}

/** Removes what a successful attach made: the interface, the bridge when the scene had none, a lower device's UP. */
async function undoAttach(s: Scene, g: Guest, c: CrashTry, hostIfBefore: { up: boolean } | null): Promise<void> {
  await detach({ host: s.host, guest: g.ns, guestIf: c.spec.guestIf ?? 'eth1' });
  const now = await s.host.link.find(c.spec.hostIf);
  if (!hostIfBefore && now) await s.host.link.del(now.index);
  else if (hostIfBefore && now && !hostIfBefore.up && now.up) await s.host.link.set(now.index, { up: false });
}

const lists = (r: Awaited<ReturnType<typeof gc>>) => ({ links: r.links.map((l) => l.name), attachments: r.attachments.map((a) => [a.entry, a.status]), forgotten: r.forgotten });

export async function crashTry(t: Test, s: Scene, g: Guest, c: CrashTry): Promise<TryResult> {
  const guestIf = c.spec.guestIf ?? 'eth1';
  const hostIfBefore = await s.host.link.find(c.spec.hostIf);
  const before = await stateOf(s, g);
  const out = await (c.child ?? childFor(s, g, c)).go(c.killAfterMs, c.killFrom);
  // This guest's entries only: other test files share the state directory,
  // and a namespace of theirs that died may have had this one's inode number.
  const cookie = await netnsCookie(g.handle).catch(() => undefined);
  const entries = (await classify(await readEntries(identityPrefix(g.ns.id, guestIf)))).filter((e) => e.entry.hostNetns === s.hostNs.id && sameGuest(e.entry, cookie));
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  let outcome: Outcome;
  const timing: Omit<TryResult, 'outcome'> = {};

  // Finished: it said so, or was killed after its entry became complete (before it could say so).
  if (out.result?.status === 'attached' || entries.some((e) => e.status === 'complete')) {
    outcome = 'completed';
    if (out.result?.ms !== undefined) timing.ms = out.result.ms;
    if (entries[0]) timing.journaledMs = Date.parse(entries[0].entry.updatedAt) - Date.parse(entries[0].entry.startedAt);
    check(entries.length === 1 && entries[0]!.status === 'complete', `a finished attach has one complete entry (${entries.map((e) => e.status)})`);
    const dry = await gc({ host: s.host, dryRun: true });
    check(dry.links.length === 0 && dry.attachments.length === 0, `gc leaves a finished attachment alone (${JSON.stringify(lists(dry))})`);
  } else {
    check(out.signal === 'SIGKILL', `the child was killed (${out.signal ?? out.code}: ${out.result?.message ?? ''})`);
    const unfinished = entries.filter((e) => e.status !== 'complete');
    if (unfinished.length === 0) {
      outcome = 'untouched';
      // Killed before its journal entry existed: then nothing may have changed.
      const now = await stateOf(s, g);
      check(JSON.stringify(now.host) === JSON.stringify(before.host) && JSON.stringify(now.guest) === JSON.stringify(before.guest), 'no journal entry, and nothing changed in the kernel');
    } else {
      outcome = 'crashed';
      check(unfinished.length === 1 && unfinished[0]!.status === 'crashed', `one crashed entry (${unfinished.map((e) => e.status)})`);
      const d = await doctor({ host: s.host, only: ['pipewright-unfinished'] });
      const found = d.checks[0]!;
      check(!found.ok && found.objects.some((o) => o.path?.endsWith(`/${unfinished[0]!.file}`)), `doctor reports the crashed attach (${found.verdict})`);
      check(/pipewright gc/.test(found.fix ?? '') && /pipewright gc --complete/.test(found.fix ?? ''), `doctor gives the commands (${found.fix})`);
      const e = unfinished[0]!.entry;
      const leftover = (e.hostEnd ? await s.host.link.find(e.hostEnd) : null) ?? (await g.handle.link.find(guestIf));
      if (leftover) {
        const again = (await attach({ ...c.spec, host: s.host, guest: g.ns }).catch((x: unknown) => x)) as { code?: string; message?: string };
        check(again.code === 'ERR_PW_CONFLICT' && /pipewright's own leftover/.test(again.message ?? '') && /pipewright gc/.test(again.message ?? ''), `a re-run meets pipewright's own leftover and names the command (${again.code}: ${again.message})`);
      }
    }
    // (The dry run is compared where there is something to list.)
    const dry = outcome === 'crashed' ? await gc({ host: s.host, dryRun: true }) : null;
    const real = await gc({ host: s.host });
    if (dry) check(JSON.stringify(lists(dry)) === JSON.stringify(lists(real)), `gc --dry-run and gc list the same (${JSON.stringify(lists(dry))} / ${JSON.stringify(lists(real))})`);
    if (dry) check(real.attachments.length === 1, `gc rolled back the crashed attach (${JSON.stringify(lists(real))})`);
    check(real.attachments.every((a) => !a.failed.length && !a.leftBehind.length), `gc undid everything (${JSON.stringify(real.attachments.map((a) => [a.failed, a.leftBehind]))})`);
    check(real.links.length === 0, `no link of the scene was called leaked (${real.links.map((l) => l.name)})`);
    const after = await stateOf(s, g);
    check(JSON.stringify(after) === JSON.stringify(before), `as if never attempted:\n${JSON.stringify(before)}\n${JSON.stringify(after)}`);
    check((await tempFilesOf(out.pid)).length === 0, 'no temporary journal file of the killed writer');
    const r = await attach({ ...c.spec, host: s.host, guest: g.ns }).catch((x: unknown) => x as Error);
    check(!(r instanceof Error) && r.status === 'attached', `then the attach succeeds (${r instanceof Error ? r.message : r.status})`);
  }
  await undoAttach(s, g, c, hostIfBefore).catch((x: Error) => failures.push(`cleanup: ${x.message}`));
  const end = await stateOf(s, g);
  check(JSON.stringify(end) === JSON.stringify(before), `back to the start after detach:\n${JSON.stringify(before)}\n${JSON.stringify(end)}`);
  for (const name of DECOYS) check((await s.host.link.find(name)) !== null, `decoy ${name} survives`);
  t.same(failures, [], `${c.label}: ${outcome}`);
  return { outcome, ...timing };
}
