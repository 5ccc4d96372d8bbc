// After an attach: keep watching the host end for a while and report (and,
// if asked, repair) anything that releases it from the bridge, sets it down
// or renames it — what systemd-networkd, NetworkManager or a udev rule may do
// to a new link after every command has already exited 0. The port is
// followed by index, so a rename does not lose it.
import type { Handle } from '../../core/handle';
import type { Link } from '../../core/types';

export interface PortIncident {
  /** Milliseconds after the watch started (0 for what verification found and repaired). */
  atMs: number;
  what: string;
  repaired: boolean;
}

export interface PortWatch {
  incidents: PortIncident[];
  /** The port's name when the watch ended (renamed and not put back, or as it was). */
  name: string;
}

/** What differs from the port as attached; '' when nothing does. */
function problemsOf(link: Link, bridgeIndex: number, name: string): string {
  const problems = [];
  if (link.master !== bridgeIndex) problems.push(`released from its bridge (master ${link.master ?? 'none'})`);
  if (!link.up) problems.push('set down');
  if (link.name !== name) problems.push(`renamed to ${link.name}`);
  return problems.join(' and ');
}

/**
 * Watches for `ms`, or until `signal` aborts. Either way the port is read
 * back once more at the end: an event still on its way when the window
 * closed (the agent acted a moment before) is then not missed.
 */
export async function watchPort(host: Handle, port: { index: number; name: string }, bridgeIndex: number, ms: number, repair: boolean, signal?: AbortSignal): Promise<PortWatch> {
  const { index, name } = port;
  const incidents: PortIncident[] = [];
  let current = name;
  const started = Date.now();
  const w = host.watch(['link'], signal ? { signal } : {});
  await w.ready;
  // Check once right away: something may have acted before the subscription.
  // One change can arrive as several events: report a state once, when it
  // first appears, not once per event.
  let last = '';
  const check = async (link: Link | null) => {
    if (!link) {
      incidents.push({ atMs: Date.now() - started, what: 'the host end was deleted', repaired: false });
      return;
    }
    current = link.name;
    const what = problemsOf(link, bridgeIndex, name);
    if (what === last) return;
    last = what;
    if (!what) return;
    let repaired = false;
    if (repair) {
      try {
        await host.link.set(index, { up: true, master: bridgeIndex, ...(link.name !== name ? { name } : {}) });
        repaired = true;
        current = name;
      } catch {
        // the name may have been taken meanwhile, the bridge gone: reported as not repaired
        repaired = false;
      }
    }
    incidents.push({ atMs: Date.now() - started, what, repaired });
    if (repaired) last = '';
  };
  try {
    const now = await host.link.find(index);
    await check(now);
    if (now === null) return { incidents, name: current };
    const deadline = started + ms;
    for (;;) {
      const left = deadline - Date.now();
      // (A signal aborted before the watcher subscribed never closes it.)
      if (left <= 0 || signal?.aborted) break;
      const ev = await w.waitFor((e) => (e.kind === 'link' && e.link.index === index) || e.kind === 'overrun', left, { keepOpen: true }).catch(() => null);
      if (!ev) break;
      // An event is a hint, not the state: releasing a port also sends an
      // AF_BRIDGE RTM_DELLINK (decoded as 'del' though the device lives on),
      // and an overrun means events were lost. Read the link back and judge that.
      const link = await host.link.find(index);
      await check(link);
      if (link === null) return { incidents, name: current };
    }
    await check(await host.link.find(index));
  } finally {
    await w.close();
  }
  return { incidents, name: current };
}
