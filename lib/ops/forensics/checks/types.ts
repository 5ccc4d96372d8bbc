// What every doctor check receives and returns.
import type { Handle } from '../../../core/handle';
import type { Address, Link, Route } from '../../../core/types';
import type { Pairing } from '../pairs';
import type { NetnsScan, ScannedNetns } from '../types';

/** Something a check points at. `netns` is always set for links and addresses. */
export interface DoctorObject {
  kind: 'link' | 'netns' | 'address' | 'path' | 'file';
  netns?: string;
  name?: string;
  index?: number;
  path?: string;
  /** What is wrong with this one object. */
  detail?: string;
}

export interface CheckResult {
  id: string;
  ok: boolean;
  /** One line. */
  verdict: string;
  /** What to do about it, when not ok. */
  fix?: string;
  /** True when the check could not run here (the verdict says why). */
  skipped?: boolean;
  objects: DoctorObject[];
}

export interface NetworkdOptions {
  /** Where .network files are read from (default /etc, /run, /usr/lib systemd/network). */
  dirs?: string[];
  /** Whether systemd-networkd runs (default: a process named systemd-network exists). */
  running?: boolean;
}

export interface DoctorContext {
  /** The namespace the local checks look at. */
  target: Handle;
  targetId: string;
  /** Its links, addresses and routes, read fresh. */
  links: Link[];
  addrs: Address[];
  routes: Route[];
  byIndex: Map<number, Link>;
  /** Every namespace on the host (all, detail). */
  scan: NetnsScan;
  byId: Map<string, ScannedNetns>;
  pairing: Pairing;
  /** Ten or more DOWN devices make a pile (option pileThreshold). */
  pileThreshold: number;
  networkd: NetworkdOptions;
}

export type Check = (ctx: DoctorContext) => Promise<CheckResult> | CheckResult;

export function passed(id: string, verdict: string): CheckResult {
  return { id, ok: true, verdict, objects: [] };
}

export function failed(id: string, verdict: string, fix: string, objects: DoctorObject[]): CheckResult {
  return { id, ok: false, verdict, fix, objects };
}

/** "a, b, c and 7 more": lists stay one line. */
export function some(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The link a pairing points at, from the scan's detail. */
export function linkAt(ctx: DoctorContext, at: { ns: string; index: number } | null): Link | undefined {
  if (!at) return undefined;
  return ctx.byId.get(at.ns)?.links?.find((l) => l.index === at.index);
}

/** How to name a namespace in a verdict: its first name, else its id. */
export function nsLabel(ctx: DoctorContext, id: string): string {
  const ns = ctx.byId.get(id);
  const name = ns?.names[0]?.name;
  if (name) return `'${name}'`;
  const p = ns?.processes[0];
  return p ? `${id} (pid ${p.pid} ${p.comm})` : id;
}
