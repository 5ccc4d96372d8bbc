// After an attach: keep watching the host end for a while and report (and,
// if asked, repair) anything that releases it from the bridge or sets it
// down — what systemd-networkd, NetworkManager or a udev rule may do to a
// new link after every command has already exited 0.
import type { Handle } from '../handle';

export interface PortIncident {
  /** Milliseconds after the watch started (0 for what verification found and repaired). */
  atMs: number;
  what: string;
  repaired: boolean;
}

/**
 * Watches for `ms`, or until `signal` aborts. Either way the port is read
 * back once more at the end: an event still on its way when the window
 * closed (the agent acted a moment before) is then not missed.
 */
export async function watchPort(host: Handle, index: number, bridgeIndex: number, ms: number, repair: boolean, signal?: AbortSignal): Promise<PortIncident[]> {
  const incidents: PortIncident[] = [];
  const started = Date.now();
  const w = host.watch(['link'], signal ? { signal } : {});
  await w.ready;
  // Check once right away: something may have acted before the subscription.
  // One change can arrive as several events: report a state once, when it
  // first appears, not once per event.
  let last = '';
  const check = async (master: number | null, up: boolean, gone: boolean) => {
    if (gone) {
      incidents.push({ atMs: Date.now() - started, what: 'the host end was deleted', repaired: false });
      return;
    }
    const problems = [];
    if (master !== bridgeIndex) problems.push(`released from its bridge (master ${master ?? 'none'})`);
    if (!up) problems.push('set down');
    const what = problems.join(' and ');
    if (what === last) return;
    last = what;
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
    incidents.push({ atMs: Date.now() - started, what, repaired });
    if (repaired) last = '';
  };
  try {
    const now = await host.link.find(index);
    await check(now?.master ?? null, now?.up ?? false, now === null);
    if (now === null) return incidents;
    const deadline = started + ms;
    for (;;) {
      const left = deadline - Date.now();
      // (A signal aborted before the watcher subscribed never closes it.)
      if (left <= 0 || signal?.aborted) break;
      const ev = await w.waitFor((e) => (e.kind === 'link' && e.link.index === index) || e.kind === 'overrun', left).catch(() => null);
      if (!ev) break;
      // An event is a hint, not the state: releasing a port also sends an
      // AF_BRIDGE RTM_DELLINK (decoded as 'del' though the device lives on),
      // and an overrun means events were lost. Read the link back and judge that.
      const link = await host.link.find(index);
      await check(link?.master ?? null, link?.up ?? false, link === null);
      if (link === null) return incidents;
    }
    const end = await host.link.find(index);
    await check(end?.master ?? null, end?.up ?? false, end === null);
  } finally {
    await w.close();
  }
  return incidents;
}
