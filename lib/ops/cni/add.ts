// ADD: IPAM (host-local built in, others delegated: ipam.ts) and, beside it,
// pipewright's attach to the bridge (the veth born in the container's
// namespace, host end UP and enslaved in the same request, verified, rolled
// back on failure, journaled), which adds IPAM's addresses and routes to
// the container's interface in the hop that brings it up and verifies them
// with the rest; the bridge's gateway addresses go on beside it; then the
// IPv4 addresses are announced, which the answer does not wait for
// (AddOutcome.after). A missing bridge is made only after IPAM succeeded.
// A failure anywhere before the answer undoes all of it, including the IPAM
// lease. Run again for the same container and interface, it returns the
// result it gave, once the kernel shows it is still intact.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { attachUnsettled } from '../attach';
import { announceAddress } from '../attach/announce';
import type { Link } from '../../core/types';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { CniError, toCniError } from './errors';
import { runIpam } from './ipam';
import { parseResult, emptyResult, type CniResult, type CniDns } from './result';
import type { HostCidr } from '../../core/validate';
import { addGateways, ensureBridge, readHostSide } from './bridge';
import { configureGuest, guestSettingsFor, routesFor, withGateways } from './configure';
import { openContainerNetns } from './container-netns';
import { hostEndName, ownerTag } from './names';
import { inspectAttachment } from './inspect';
import { teardown } from './teardown';
import { lockAndReadRecord, writeRecord, type CniRecord } from './store';

export interface AddOutcome {
  result: CniResult;
  warnings: string[];
  /**
   * The step that goes on after the answer: the gratuitous ARP from the
   * container, which the bridge floods to every port (its cost grows with
   * the ports: ~0.2 ms at 50, ~0.5 ms at 200 here), for neighbours to
   * update a stale MAC, not for the container's network to work. Then the
   * container's lock and the handles are given back, so a DEL of this
   * container waits for it. Never rejects: resolves with lines for the log
   * (a port that will not forward, a failed announcement). Absent when
   * there is nothing left to do.
   */
  after?: Promise<string[]>;
}

export async function cmdAdd(conf: NetConf, env: CniEnv): Promise<AddOutcome> {
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const netnsPath = env.netns!;
  // Independent, so asked together: each is a trip to the addon's threads.
  // The container's record is read under its lock, in the lock's trip; the
  // bridge is looked for as soon as the host's handle is there (read only).
  const hostP = Handle.open();
  const lookupP = hostP.then((h) => h.link.find(conf.bridge));
  lookupP.catch(() => undefined); // judged in fresh(), or settled unread
  const [lockR, nsR, hostR] = await Promise.allSettled([lockAndReadRecord(conf.name, containerId, ifname), openContainerNetns(netnsPath), hostP]);
  if (lockR.status === 'rejected' || nsR.status === 'rejected' || hostR.status === 'rejected') {
    if (nsR.status === 'fulfilled') await nsR.value.close();
    if (hostR.status === 'fulfilled') {
      await lookupP.catch(() => undefined);
      await hostR.value.close();
    }
    if (lockR.status === 'fulfilled') await lockR.value.lock.unlockAndRemove();
    // The error of the first that failed, in the order they were once asked one after the other.
    throw lockR.status === 'rejected' ? lockR.reason : nsR.status === 'rejected' ? nsR.reason : (hostR as PromiseRejectedResult).reason;
  }
  const { lock, record: before } = lockR.value;
  const ns = nsR.value;
  const host = hostR.value;
  let gh: Handle | null = null;
  let lookup: Promise<Link | null> = lookupP;
  let attached = false;
  // The handles, then the lock (a failed ADD leaves no attachment: it rolled
  // back, so no lock file either). When the ADD answers before its last
  // step is done (the announcement: AddOutcome.after), only after that step.
  const giveBack = async () => {
    try {
      // Nothing asked of the host's handle is left running when it closes.
      await Promise.allSettled([lookupP, lookup]);
      await gh?.close();
      await host.close();
      await ns.close();
    } finally {
      await (attached ? lock.unlock() : lock.unlockAndRemove());
    }
  };
  let out: AddOutcome;
  try {
    // Takes the socket that came with the namespace: no trip.
    gh = await Handle.open(ns);
    const hostEnd = hostEndName(conf.name, containerId, ifname);
    let intact = false;
    if (before) {
      // Run again: the same attachment, intact, is the answer it was.
      if (before.state === 'complete' && before.netns === netnsPath && before.result && before.printed) {
        intact = (await inspectAttachment(host, gh, { bridge: before.bridge, hostEnd, ifname, netns: netnsPath, result: before.result })).length === 0;
      }
      if (!intact) {
        // A crashed ADD, or an attachment something broke since: removed, then made afresh.
        await teardown(teardownOf(before, conf, env), host);
        // Looked for again: the teardown may have removed a bridge it made.
        await lookupP.catch(() => undefined);
        lookup = host.link.find(conf.bridge);
        lookup.catch(() => undefined);
      }
    }
    out = intact ? { result: before!.printed!, warnings: [] } : await fresh(conf, env, ns, host, gh, hostEnd, lookup);
    attached = true;
  } catch (e) {
    await giveBack();
    throw e;
  }
  if (!out.after) {
    await giveBack();
    return out;
  }
  const after = out.after;
  return {
    ...out,
    after: after.then(async (lines) => {
      try {
        await giveBack();
        return lines;
      } catch (e) {
        return [...lines, `giving back the container's lock and handles failed: ${(e as Error).message}`];
      }
    }),
  };
}

function teardownOf(r: Pick<CniRecord, 'network' | 'containerId' | 'ifname' | 'netns' | 'guestNetns' | 'hostEnd' | 'ipam'>, conf: NetConf, env: CniEnv) {
  return { network: r.network, containerId: r.containerId, ifname: r.ifname, netns: r.netns, ...(r.guestNetns ? { guestNetns: r.guestNetns } : {}), hostEnd: r.hostEnd, ...(r.ipam ? { ipam: r.ipam } : {}), stdin: conf.raw, env: env.raw, path: env.path };
}

async function fresh(conf: NetConf, env: CniEnv, ns: Netns, host: Handle, gh: Handle, hostEnd: string, lookup: Promise<Link | null>): Promise<AddOutcome> {
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const owner = ownerTag(conf.name);
  const record: CniRecord = {
    version: 1,
    state: 'in-progress',
    network: conf.name,
    containerId,
    ifname,
    netns: env.netns!,
    guestNetns: ns.id,
    bridge: conf.bridge,
    hostEnd,
    ...(conf.ipam ? { ipam: conf.ipam.type } : {}),
    pid: process.pid,
    createdAt: new Date().toISOString(),
  };
  // The bridge (looked for by the caller, beside the lock) is judged below.
  // The record is written before the first change (IPAM's lease, a bridge
  // made or brought up, the attach's veth): a crash from then on leaves a
  // record that DEL, GC and the next ADD find. The attach's look-ups, plan
  // and journal entry go on meanwhile.
  const recordWritten = writeRecord(record);
  recordWritten.catch(() => undefined); // judged below, first
  let createdBridge: number | null = null;
  // The attach journal entry's 'complete' write, on its way while the record
  // is completed and the addresses announced; settled before the answer and
  // before any rollback.
  let settled: Promise<string | null> = Promise.resolve(null);
  // The bridge's gateway addresses, beside the attach once IPAM answered (a
  // bridge that was there keeps them on a failure: the network's gateway,
  // shared by its containers); settled before the answer and before any rollback.
  let gateways: Promise<void> = Promise.resolve();
  // The announcement, started once the settings are verified; settled before any rollback.
  let announcing: Promise<void> = Promise.resolve();
  try {
    // IPAM and the attachment run side by side: the attach adds IPAM's
    // addresses and routes to the container's interface in the hop that
    // brings it up, waiting there for them (guestSettings). A bridge that is
    // missing is made only once IPAM succeeded, so an ADD refused an
    // address makes nothing that a concurrent ADD could find and then lose
    // to this one's rollback; an existing one is used at once. Both settle
    // before anything is judged: a rollback never races a lease still being
    // written.
    // IPAM reads its store (under the store's lock) while the record is
    // written, and changes it only after (the lease waits for the record).
    const ipamP = runIpamFor(conf, env, recordWritten);
    ipamP.catch(() => undefined); // judged once the attachment beside it settled too
    const routesP = ipamP.then((ipam) => withGateways(ipam.ips, routesFor(ipam.ips, ipam.routes, conf.isDefaultGateway)));
    const settingsP = Promise.all([ipamP, routesP]).then(([ipam, routes]) => guestSettingsFor(ipam.ips, routes));
    settingsP.catch(() => undefined); // the attach's to judge (and IPAM's failure is reported first, below)
    const attachP = (async () => {
      const looked = await lookup;
      if (!looked) await ipamP;
      // A bridge that is down is brought up: a change, after the record.
      else if (!looked.up) await recordWritten;
      const { link: bridge, created } = await ensureBridge(host, conf.bridge, owner, conf.mtu, looked);
      if (created) createdBridge = bridge.index;
      gateways = ipamP.then((ipam) => addGateways(host, bridge, ipam.ips, conf.isGateway));
      gateways.catch(() => undefined); // judged after the attach
      const { result: attached, settled: completing, links } = await attachUnsettled({
        hostIf: conf.bridge,
        guest: ns,
        guestIf: ifname,
        hostEnd,
        // The addresses are IPAM's (guestSettings).
        address: '0/0',
        owner,
        host,
        guestHandle: gh,
        // As looked for (or made) just now: attach need not look again.
        hostIfLink: bridge,
        ...(conf.mtu ? { mtu: conf.mtu } : {}),
        // Unset: IPAM's answer decides (an IPv4-only interface makes no link-local address).
        ...(conf.ipv6LinkLocal !== undefined ? { ipv6LinkLocal: conf.ipv6LinkLocal } : {}),
      }, { firstChangeAfter: recordWritten, guestSettings: settingsP, readHostIf: true });
      settled = completing;
      return { bridge, attached, links };
    })();
    const [ipamR, attachR, settingsR] = await Promise.allSettled([ipamP, attachP, settingsP]);
    // IPAM's failure first (the record's, when it could not be written): with a missing bridge it is also the attachment's.
    if (ipamR.status === 'rejected') throw ipamR.reason;
    // Then an IPAM answer that cannot be put on the interface: the attach failed of it (and rolled back); it is the cause.
    if (settingsR.status === 'rejected') throw settingsR.reason;
    if (attachR.status === 'rejected') throw attachR.reason;
    const ipam = ipamR.value;
    const routes = await routesP;
    const { bridge, attached, links } = attachR.value;
    let addresses: HostCidr[];
    let br: Link;
    let he: Link;
    if (links.hostEnd && links.hostIf) {
      // The attach added and verified the settings, read the bridge beside
      // its last hop, and the host end after it (its port state is current).
      addresses = (await settingsP).addresses;
      br = links.hostIf;
      he = links.hostEnd;
    } else {
      // Found in place (a concurrent ADD of the same container made it
      // first): the settings, and the host side read afresh, now.
      const [configured, hostSide] = await Promise.allSettled([configureGuest(gh, { index: attached.guest.index, name: ifname }, await settingsP), readHostSide(host, bridge, hostEnd)]);
      if (configured.status === 'rejected') throw configured.reason;
      if (hostSide.status === 'rejected') throw hostSide.reason;
      addresses = configured.value;
      br = hostSide.value.bridge;
      he = hostSide.value.hostEnd;
    }
    const guest = attached.guest.mac && attached.guest.mtu ? { name: attached.guest.ifname, address: attached.guest.mac, mtu: attached.guest.mtu } : await gh.link.get(attached.guest.index);
    const prev = conf.prevResult ?? emptyResult();
    const base = prev.interfaces.length;
    const own: CniResult = {
      interfaces: [
        { name: br.name, ...(br.address ? { mac: br.address } : {}) },
        { name: he.name, ...(he.address ? { mac: he.address } : {}) },
        { name: guest.name, ...(guest.address ? { mac: guest.address } : {}), mtu: guest.mtu, sandbox: env.netns! },
      ],
      ips: ipam.ips.map((ip) => ({ ...ip, interface: base + 2 })),
      routes,
      dns: pickDns(conf.dns, ipam.dns, prev.dns),
    };
    const printed: CniResult = {
      interfaces: [...prev.interfaces, ...own.interfaces],
      ips: [...prev.ips, ...own.ips],
      routes: [...prev.routes, ...own.routes],
      dns: own.dns,
    };
    // What inspect compares with: our part, with indexes into our three interfaces.
    const mine: CniResult = { ...own, ips: own.ips.map((ip) => ({ ...ip, interface: 2 })) };
    // The record completed, and the journal entry's 'complete' write and the
    // bridge's gateway addresses (both on their way since the attach):
    // independent, so together, and all before the answer. Beside them each
    // IPv4 address is announced by a gratuitous ARP from the container (as
    // attach announces its own address, and the reference bridge plugin its
    // addresses), which the answer does not wait for (AddOutcome.after).
    const warnings = [...attached.warnings];
    const later: string[] = [];
    announcing = announceAll(host, gh, bridge, he, attached.guest.index, addresses, later);
    announcing.catch(() => undefined); // reported in `after`, or settled before the rollback
    const [journal, gw, recorded] = await Promise.allSettled([settled, gateways, writeRecord({ ...record, state: 'complete', result: mine, printed })]);
    for (const r of [journal, gw, recorded]) if (r.status === 'rejected') throw r.reason;
    if (journal.status === 'fulfilled' && journal.value) warnings.splice(attached.warnings.length, 0, journal.value);
    const after = announcing.then(
      () => later,
      (e: unknown) => [...later, `the gratuitous ARP for ${env.containerId} (${ifname}) failed: ${(e as Error).message}; the attachment stands`],
    );
    return { result: printed, warnings, after };
  } catch (e) {
    const err = toCniError(e);
    // Without the record nothing was changed (every change waited for it): nothing to undo.
    if (await recordWritten.then(() => false, () => true)) throw err;
    try {
      // The journal's write finished first: the teardown's removal of the entry must come after it.
      await Promise.allSettled([settled, gateways, announcing]);
      await teardown(teardownOf(record, conf, env), host);
      if (createdBridge !== null && (await host.link.list({ master: createdBridge })).length === 0) await host.link.del(createdBridge);
    } catch (undo) {
      throw new CniError(err.code, err.msg, `${err.details ? `${err.details}; ` : ''}the rollback failed too: ${(undo as Error).message}; DEL for this container removes what is left`);
    }
    throw err;
  }
}

function pickDns(conf: CniDns | undefined, ipam: CniDns, prev: CniDns): CniDns {
  const has = (d: CniDns | undefined) => !!d && Object.values(d).some((x) => (Array.isArray(x) ? x.length > 0 : !!x));
  if (has(conf)) return conf!;
  if (has(ipam)) return ipam;
  return prev;
}

function runIpamFor(conf: NetConf, env: CniEnv, changesAfter: Promise<unknown>): Promise<CniResult> {
  const p = conf.ipam
    ? runIpam(conf.ipam.type, 'ADD', conf.raw, env.raw, env.path, changesAfter).then((r) => parseResult(r, `the result of IPAM plugin "${conf.ipam!.type}"`))
    : changesAfter.then(() => emptyResult());
  p.catch(() => undefined); // judged once the attachment beside it settled too
  return p;
}

/** Each IPv4 address, announced from the container; hostEnd was read after the container's end came up. */
async function announceAll(host: Handle, gh: Handle, bridge: Link, hostEnd: Link, guestIf: number, addresses: readonly HostCidr[], warnings: string[]): Promise<void> {
  for (const a of addresses) {
    if (a.family !== 4) continue;
    await announceAddress({ host, gh, bridge: { index: bridge.index, name: bridge.name }, hostEnd, hostEndName: hostEnd.name, guestIf, address: a.address, warnings });
  }
}
