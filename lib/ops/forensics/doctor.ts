// doctor(): the failures of FIELD-NOTES, looked for on a live host. Local
// checks look at one namespace (the caller's choice, default the current
// one); host-wide ones (duplicate addresses, orphans, stale names) at every
// namespace the scan finds. Each check gives one line and a fix.
import { Handle } from '../../core/handle';
import { Netns, NetnsRef } from '../../core/netns';
import { invalidArgument } from '../../core/errors';
import { pairVethsExact } from './nsid';
import { scanNamespaces } from './scan';
import type { NetnsScan } from './types';
import { Check, CheckResult, DoctorContext, NetworkdOptions } from './checks/types';
import { bridgePortState, downDevicePile, mtuMismatch, vethHostEnds } from './checks/links';
import { duplicateAddresses, orphanedNamespaces, runNetnsShared, staleNames } from './checks/namespaces';
import { pipewrightLeaked } from './checks/owned';
import { unfinishedAttaches } from './checks/unfinished';
import { bridgeFirewall } from './checks/firewall';
import { networkdKeepMaster } from './checks/networkd';

export type { CheckResult, DoctorObject, NetworkdOptions } from './checks/types';

/** Every check, in the order they are reported. */
export const CHECKS: ReadonlyArray<readonly [string, Check]> = [
  ['veth-host-ends', vethHostEnds],
  ['bridge-port-state', bridgePortState],
  ['mtu-mismatch', mtuMismatch],
  ['bridge-firewall', bridgeFirewall],
  ['networkd-keepmaster', networkdKeepMaster],
  ['pipewright-leaked', pipewrightLeaked],
  ['pipewright-unfinished', unfinishedAttaches],
  ['down-device-pile', downDevicePile],
  ['duplicate-addresses', duplicateAddresses],
  ['orphaned-namespaces', orphanedNamespaces],
  ['stale-names', staleNames],
  ['run-netns-shared', runNetnsShared],
];

export interface DoctorOptions {
  /** The namespace whose links the local checks examine (default: the current one). */
  netns?: Netns | NetnsRef;
  /** Or a handle already open in it (borrowed, not closed). */
  host?: Handle;
  /** Run only these checks (ids from CHECKS). */
  only?: string[];
  /** A scan made with { all: true, detail: true }, to reuse. */
  scan?: NetnsScan;
  /** How many DOWN veth/tap devices make a pile (default 10). */
  pileThreshold?: number;
  /** Where networkd's files are and whether it runs (defaults: the real ones). */
  networkd?: NetworkdOptions;
}

export interface DoctorReport {
  /** True when any check found something: the CLI's exit status. */
  found: boolean;
  /** The namespace the local checks examined. */
  target: string;
  checks: CheckResult[];
  /** Namespaces the host-wide checks covered. */
  namespaces: number;
  elapsedMs: number;
}

export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const known = new Set(CHECKS.map(([id]) => id));
  for (const id of opts.only ?? []) if (!known.has(id)) throw invalidArgument('only', id, `is not a check (known: ${[...known].join(', ')})`);
  const target = opts.host ?? (opts.netns === undefined ? await Handle.open() : await Handle.open(opts.netns));
  try {
    const [scan, links, addrs, routes] = await Promise.all([
      opts.scan ?? scanNamespaces({ all: true, detail: true }),
      target.link.list(),
      target.addr.list(),
      target.route.list(),
    ]);
    const targetId = target.netns?.id ?? scan.self.netns;
    const ctx: DoctorContext = {
      target,
      targetId,
      links,
      addrs,
      routes,
      byIndex: new Map(links.map((l) => [l.index, l])),
      scan,
      byId: new Map(scan.namespaces.map((n) => [n.id, n])),
      pairing: await pairVethsExact(scan.namespaces),
      pileThreshold: opts.pileThreshold ?? 10,
      networkd: opts.networkd ?? {},
    };
    const checks: CheckResult[] = [];
    for (const [id, check] of CHECKS) {
      if (opts.only && !opts.only.includes(id)) continue;
      try {
        checks.push(await check(ctx));
      } catch (e) {
        // One check that cannot run (no permission, a tool missing) must not hide the others.
        checks.push({ id, ok: true, skipped: true, verdict: `could not run: ${(e as Error).message}`, objects: [] });
      }
    }
    return { found: checks.some((c) => !c.ok), target: targetId, checks, namespaces: scan.namespaces.length, elapsedMs: Math.round(performance.now() - started) };
  } finally {
    if (!opts.host) await target.close();
  }
}
