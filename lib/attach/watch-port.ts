// After an attach: keep watching the host end for a while and report (and,
// if asked, repair) anything that releases it from the bridge or sets it
// down — what systemd-networkd, NetworkManager or a udev rule may do to a
// new link after every command has already exited 0.
import type { Handle } from '../handle';

export interface PortIncident {
  /** Milliseconds after the watch started. */
  atMs: number;
  what: string;
  repaired: boolean;
}

export async function watchPort(host: Handle, index: number, bridgeIndex: number, ms: number, repair: boolean): Promise<PortIncident[]> {
  const incidents: PortIncident[] = [];
  const started = Date.now();
  const w = host.watch(['link']);
  await w.ready;
  // Check once right away: something may have acted before the subscription.
  const check = async (master: number | null, up: boolean, gone: boolean) => {
    if (gone) {
      incidents.push({ atMs: Date.now() - started, what: 'the host end was deleted', repaired: false });
      return;
    }
    const problems = [];
    if (master !== bridgeIndex) problems.push(`released from its bridge (master ${master ?? 'none'})`);
    if (!up) problems.push('set down');
    if (!problems.length) return;
    let repaired = false;
    if (repair) {
      try {
        await host.link.set(index, { up: true, master: bridgeIndex });
        repaired = true;
      } catch {
        repaired = false;
      }
    }
    incidents.push({ atMs: Date.now() - started, what: problems.join(' and '), repaired });
  };
  try {
    const now = await host.link.find(index);
    await check(now?.master ?? null, now?.up ?? false, now === null);
    const deadline = started + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const ev = await w.waitFor((e) => e.kind === 'link' && e.link.index === index, left).catch(() => null);
      if (!ev || ev.kind !== 'link') break;
      await check(ev.link.master, ev.link.up, ev.action === 'del');
      if (ev.action === 'del') break;
    }
  } finally {
    await w.close();
  }
  return incidents;
}
