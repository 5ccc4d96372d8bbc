// What an engine killed in the middle of a command leaves: the attach it had
// at work stays in the journal as 'in-progress' with a dead writer (a crashed
// attach), and its client was told that what happened is unknown. Each engine
// records who it is (engine/engine-net-DEV-INO.json, beside its lock) for as
// long as it runs; the next engine in the same namespace, holding the same
// lock, finds the record of one that did not stop cleanly and rolls back the
// crashed attaches that process wrote, and only those (gc, limited to that
// writer): the attaches of other tools, crashed or not, stay for their
// owners' gc. A clean stop removes the record.
import { readStateFile, removeStateFile, writeStateFile } from '../../core/state-files';
import { gc } from '../forensics/gc';
import { processAlive, selfIdentity, type ProcessIdentity } from '../ownership';
import { ENGINE_DIR } from './paths';

export function engineRecordName(netnsId: string): string {
  return `engine-net-${netnsId.replace(':', '-')}.json`;
}

function parseIdentity(text: string): ProcessIdentity | null {
  try {
    const o = JSON.parse(text) as Partial<ProcessIdentity>;
    if (Number.isInteger(o.pid) && (o.pid as number) > 0 && typeof o.startTime === 'string' && /^\d+$/.test(o.startTime) && typeof o.bootId === 'string') return { pid: o.pid!, startTime: o.startTime, bootId: o.bootId };
  } catch {
    /* not a record: ignored, and replaced below */
  }
  return null;
}

/**
 * Called by an engine holding its namespace's lock, before it serves or
 * follows anything: rolls back what a predecessor killed mid-command left,
 * then records this engine. Returns a function that removes the record (a
 * clean stop).
 */
export async function takeOverFromPredecessor(netnsId: string, log: (text: string) => void): Promise<() => Promise<void>> {
  const name = engineRecordName(netnsId);
  const found = await readStateFile(ENGINE_DIR, name);
  const before = found ? parseIdentity(found.data) : null;
  if (before && !(await processAlive(before))) {
    const r = await gc({ writtenBy: before }).catch((e: unknown) => {
      log(`could not roll back what the previous engine (pid ${before.pid}) left unfinished: ${e instanceof Error ? e.message : String(e)} (run 'pipewright gc')`);
      return null;
    });
    for (const a of r?.attachments ?? []) {
      const what = `the attach of ${a.guestIf} in ${a.guest}${a.hostEnd ? ` (host end ${a.hostEnd})` : ''} the previous engine (pid ${before.pid}) was killed in the middle of`;
      if (a.failed.length) log(`could not roll back ${what}: ${a.failed.join('; ')} (its entry stays for 'pipewright gc')`);
      else log(`rolled back ${what}: ${a.actions.length ? a.actions.join('; ') : 'nothing of it was left'}${a.leftBehind.length ? `; left alone: ${a.leftBehind.join('; ')}` : ''}`);
    }
  }
  await writeStateFile(ENGINE_DIR, name, `${JSON.stringify(await selfIdentity())}\n`);
  return async () => void (await removeStateFile(ENGINE_DIR, name));
}
