// ADD: IPAM first (host-local built in, others delegated: ipam.ts), then the bridge, then pipewright's attach (the
// veth born in the container's namespace, host end UP and enslaved in the
// same request, verified, rolled back on failure, journaled), then the
// further addresses and routes. A failure anywhere undoes all of it,
// including the IPAM lease. Run again for the same container and interface,
// it returns the result it gave, once the kernel shows it is still intact.
import { Handle } from '../../core/handle';
import { Netns } from '../../core/netns';
import { attach } from '../attach';
import type { NetConf } from './config';
import type { CniEnv } from './env';
import { CniError, toCniError } from './errors';
import { runIpam } from './ipam';
import { parseResult, emptyResult, type CniResult, type CniDns } from './result';
import { ensureBridge, addGatewayAddresses } from './bridge';
import { configureGuest, routesFor, withGateways } from './configure';
import { openContainerNetns } from './container-netns';
import { hostEndName, ownerTag } from './names';
import { inspectAttachment } from './inspect';
import { teardown } from './teardown';
import { lockContainer, readRecord, writeRecord, type CniRecord } from './store';

export interface AddOutcome {
  result: CniResult;
  warnings: string[];
}

export async function cmdAdd(conf: NetConf, env: CniEnv): Promise<AddOutcome> {
  const containerId = env.containerId!;
  const ifname = env.ifname!;
  const netnsPath = env.netns!;
  // Independent, so asked together: each is a trip to the addon's threads.
  const [lockR, nsR, hostR] = await Promise.allSettled([lockContainer(containerId), openContainerNetns(netnsPath), Handle.open()]);
  if (lockR.status === 'rejected' || nsR.status === 'rejected' || hostR.status === 'rejected') {
    if (nsR.status === 'fulfilled') await nsR.value.close();
    if (hostR.status === 'fulfilled') await hostR.value.close();
    if (lockR.status === 'fulfilled') await lockR.value.unlockAndRemove();
    // The error of the first that failed, in the order they were once asked one after the other.
    throw lockR.status === 'rejected' ? lockR.reason : nsR.status === 'rejected' ? nsR.reason : (hostR as PromiseRejectedResult).reason;
  }
  const lock = lockR.value;
  let attached = false;
  try {
    const ns = nsR.value;
    const host = hostR.value;
    let gh: Handle | null = null;
    try {
      // Takes the socket that came with the namespace: no trip.
      gh = await Handle.open(ns);
      const hostEnd = hostEndName(conf.name, containerId, ifname);
      const before = await readRecord(conf.name, containerId, ifname);
      if (before) {
        // Run again: the same attachment, intact, is the answer it was.
        if (before.state === 'complete' && before.netns === netnsPath && before.result && before.printed) {
          const problems = await inspectAttachment(host, gh, { bridge: before.bridge, hostEnd, ifname, netns: netnsPath, result: before.result });
          if (problems.length === 0) {
            attached = true;
            return { result: before.printed, warnings: [] };
          }
        }
        // A crashed ADD, or an attachment something broke since: removed, then made afresh.
        await teardown(teardownOf(before, conf, env), host);
      }
      const out = await fresh(conf, env, ns, host, gh, hostEnd);
      attached = true;
      return out;
    } finally {
      await gh?.close();
      await host.close();
      await ns.close();
    }
  } finally {
    // A failed ADD leaves no attachment (it rolled back), so no lock file either.
    await (attached ? lock.unlock() : lock.unlockAndRemove());
  }
}

function teardownOf(r: Pick<CniRecord, 'network' | 'containerId' | 'ifname' | 'netns' | 'guestNetns' | 'hostEnd' | 'ipam'>, conf: NetConf, env: CniEnv) {
  return { network: r.network, containerId: r.containerId, ifname: r.ifname, netns: r.netns, ...(r.guestNetns ? { guestNetns: r.guestNetns } : {}), hostEnd: r.hostEnd, ...(r.ipam ? { ipam: r.ipam } : {}), stdin: conf.raw, env: env.raw, path: env.path };
}

async function fresh(conf: NetConf, env: CniEnv, ns: Netns, host: Handle, gh: Handle, hostEnd: string): Promise<AddOutcome> {
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
  // Before the first change: a crash from here on leaves a record that DEL,
  // GC and the next ADD find.
  await writeRecord(record);
  let createdBridge: number | null = null;
  try {
    // The bridge is looked for while IPAM runs; made (when missing) only
    // once IPAM succeeded: an ADD refused an address makes nothing that a
    // concurrent ADD could find and then lose to this one's rollback.
    const lookup = host.link.find(conf.bridge);
    lookup.catch(() => undefined); // awaited below, after IPAM; its failure is not this moment's
    const ipam = conf.ipam ? parseResult(await runIpam(conf.ipam.type, 'ADD', conf.raw, env.raw, env.path), `the result of IPAM plugin "${conf.ipam.type}"`) : emptyResult();
    const { link: bridge, created } = await ensureBridge(host, conf.bridge, owner, conf.mtu, await lookup);
    if (created) createdBridge = bridge.index;
    const first = ipam.ips[0];
    // The gateway addresses go on the bridge while the container is attached
    // to it: neither needs the other. Both settle before any rollback.
    const [gateway, attachedR] = await Promise.allSettled([
      conf.isGateway ? addGatewayAddresses(host, bridge, ipam.ips) : Promise.resolve(),
      attach({
        hostIf: conf.bridge,
        guest: ns,
        guestIf: ifname,
        hostEnd,
        address: first ? first.address : '0/0',
        owner,
        host,
        guestHandle: gh,
        ...(conf.mtu ? { mtu: conf.mtu } : {}),
      }),
    ]);
    if (gateway.status === 'rejected') throw gateway.reason;
    if (attachedR.status === 'rejected') throw attachedR.reason;
    const attached = attachedR.value;
    const routes = withGateways(ipam.ips, routesFor(ipam.ips, ipam.routes, conf.isDefaultGateway));
    await configureGuest(gh, ifname, ipam.ips.slice(1), routes);
    // The container's end as attach's verification read it back; the host's
    // side afresh (the bridge's MAC follows its ports unless it was set).
    const [br, he, guest] = await Promise.all([
      host.link.get(bridge.index),
      host.link.get(hostEnd),
      attached.guest.mac && attached.guest.mtu ? { name: attached.guest.ifname, address: attached.guest.mac, mtu: attached.guest.mtu } : gh.link.get(ifname),
    ]);
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
    await writeRecord({ ...record, state: 'complete', result: mine, printed });
    return { result: printed, warnings: attached.warnings };
  } catch (e) {
    const err = toCniError(e);
    try {
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
