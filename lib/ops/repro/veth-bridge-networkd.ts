// §1 with the real agent: systemd-networkd, with a `.network` file matching
// the veths and no KeepMaster=. networkd 252 (Debian bookworm) releases a
// managed link from its bridge when it configures a link that is *already*
// enslaved — at start-up (boot, or a restart on upgrade) or on reconfigure —
// and leaves alone ports enslaved after it configured them. So the replay is:
// the operator's script with networkd running, then networkd restarted; and
// pipewright's attaches with networkd restarted while they watch.
import type { Netns } from '../../core/netns';
import { Checks, errorText, privateHost, sleep } from './common';
import { networkdUnavailable, startNetworkd, Networkd } from './networkd';
import { countPorts, oldWay, pipewrightWay, silentlyBroken, unaccounted, portName, PORTS, PORT_GLOB } from './ports';
import type { Check } from './types';

/**
 * Deadlines that bound failures only (networkd never settling, ports never
 * all on the bridge); on a busy machine networkd takes seconds for 81 links.
 * What ends pipewright's watches is networkd having settled after its restart.
 */
const SETTLE_MS = 60_000;
const ALL_PORTS_MS = 60_000;

export interface NetworkdVariant {
  checks: Check[];
  done: string[];
  details: Record<string, unknown>;
  skipped?: string;
  oldSummary?: string;
  pwSummary?: string;
  oldNumbers: Record<string, number>;
  pwNumbers: Record<string, number>;
}

const NAMES = PORTS.map(portName);

/** Stops one networkd and starts another in the same namespace; returns the new one once it has settled. */
async function restart(old: Networkd, ns: Netns): Promise<Networkd> {
  await old.stop();
  const nd = await startNetworkd(ns, PORT_GLOB);
  await nd.settled(NAMES, SETTLE_MS);
  return nd;
}

export async function networkdVariant(): Promise<NetworkdVariant> {
  const out: NetworkdVariant = { checks: [], done: [], details: {}, oldNumbers: {}, pwNumbers: {} };
  const why = await networkdUnavailable();
  if (why) {
    out.skipped = `systemd-networkd variant: ${why}`;
    return out;
  }
  const c = new Checks();
  const n = PORTS.length;

  // The old way, with networkd managing the veths.
  const hostA = await privateHost();
  let nd: Networkd | null = null;
  let during, afterRestart, oldReleases;
  try {
    try {
      nd = await startNetworkd(hostA.ns, PORT_GLOB);
    } catch (e) {
      out.skipped = `systemd-networkd variant: it cannot run in this sandbox: ${errorText(e)}`;
      return out;
    }
    const r = await oldWay(hostA.ns);
    c.equal(r.code, 0, 'networkd: the old-way script exits 0');
    await nd.settled(NAMES, SETTLE_MS);
    during = await countPorts(hostA.h);
    nd = await restart(nd, hostA.ns);
    oldReleases = nd.releases.length;
    afterRestart = await countPorts(hostA.h);
  } finally {
    await nd?.stop();
    await hostA.close();
  }
  out.done.push(
    `old way with the real systemd-networkd (a \`.network\` matching ${PORT_GLOB}, no KeepMaster=; private /run/systemd, read-only sysfs, no D-Bus) running during the script, then restarted as on boot or upgrade; counted ports`,
  );

  // pipewright, networkd restarted while the attaches watch their ports.
  const hostB = await privateHost();
  const guests: Netns[] = [];
  let pw, after, pwReleases = 0;
  nd = null;
  try {
    await hostB.h.link.add({ kind: 'bridge', name: 'br0', up: true });
    const br = await hostB.h.link.get('br0');
    nd = await startNetworkd(hostB.ns, PORT_GLOB);
    pw = await pipewrightWay(hostB.h, guests, async () => {
      // Restart once every port is on the bridge; the watches end when the
      // new networkd has configured (and so released) every port.
      const until = Date.now() + ALL_PORTS_MS;
      while ((await hostB.h.link.list({ master: br.index })).length < n) {
        if (Date.now() > until) throw new Error(`not all ${n} ports were on br0 within ${ALL_PORTS_MS} ms`);
        await sleep(10);
      }
      nd = await restart(nd!, hostB.ns);
      pwReleases = nd.releases.length;
    });
    out.details.watchedMs = pw.watchedMs;
    after = await countPorts(hostB.h);
    if (pw.failed.length) out.details.pipewrightFailures = pw.failed;
  } finally {
    await nd?.stop();
    for (const g of guests) await g.close();
    await hostB.close();
  }
  out.done.push(`pipewright with the same networkd: attach() per port with watch and repair; networkd restarted once all ports were on br0; the watches ended once it had configured every port again (${pw.watchedMs} ms here); every port read back`);

  const silent = silentlyBroken(pw, after);
  c.ok(afterRestart.enslaved < n, `networkd released the old way's ports when it (re)configured them (${n - afterRestart.enslaved} of ${n})`);
  c.ok(pwReleases > 0, `networkd released pipewright's ports too (${pwReleases} releases)`);
  c.equal(silent, [], 'networkd: pipewright never reports success for a port that is not enslaved and up');
  const lost = unaccounted(pw, after);
  c.equal(lost, [], 'networkd: every port is enslaved and up, or reported as failed');
  out.checks = c.list;
  out.details = {
    ...out.details,
    note: 'networkd 252 releases a port only when it configures a link that is already enslaved (start-up, restart, reconfigure); ports enslaved after it configured the link stay',
  };
  out.oldSummary = `systemd-networkd running: ${during.good}/${n}, after a networkd restart ${afterRestart.enslaved}/${n} enslaved`;
  out.pwSummary = `systemd-networkd restarted while watching: ${after.good}/${n} enslaved and up after ${pw.repairs} repairs`;
  out.oldNumbers = { networkdEnslaved: during.enslaved, networkdRestartEnslaved: afterRestart.enslaved, networkdReleases: oldReleases };
  out.pwNumbers = { networkdEnslaved: after.enslaved, networkdUp: after.up, networkdRepairs: pw.repairs, networkdReleases: pwReleases, networkdSilentlyBroken: silent.length, networkdUnaccounted: lost.length };
  return out;
}
