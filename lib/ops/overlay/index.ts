// Declarative bridges and VXLAN overlays (issue 17): say what should exist,
// and apply makes it so — creating what is missing, adjusting what is ours,
// reconciling a VXLAN device's flood list to exactly its peers — then reads
// it back. Each apply is one transaction: a failure undoes what it did. A
// second apply of the same spec changes nothing and says so.
import { Handle } from '../../core/handle';
import { runSteps } from '../transaction';
import { planBridge, type BridgeDiff } from './bridge';
import { applyError } from './errors';
import { deleteOverlay, showOverlay, type DeleteResult, type OverlayInfo } from './inspect';
import { normalizeBridge, normalizeOverlay, type BridgeSpec, type OverlaySpec } from './spec';
import { planOverlay, type OverlayDiff } from './vxlan';

export type { BridgeSpec, OverlaySpec, NormalizedBridge, NormalizedOverlay } from './spec';
export { normalizeBridge, normalizeOverlay, DEFAULT_VXLAN_PORT } from './spec';
export type { BridgeDiff } from './bridge';
export type { OverlayDiff } from './vxlan';
export type { OverlayInfo, DeleteResult } from './inspect';
export { floodDiff, floodPeers, FLOOD_MAC } from './flood';
export { ApplyError } from './errors';

export interface ApplyOptions {
  /** The namespace to work in; default the current one. */
  host?: Handle;
  /** Plan only: nothing is changed. */
  dryRun?: boolean;
}

/** What an apply did (or, dry, would do): the diff and its steps in order. */
export type Applied<D> = D & { dryRun: boolean; plan: string[] };

async function withHost<T>(host: Handle | undefined, fn: (h: Handle) => Promise<T>): Promise<T> {
  const h = host ?? (await Handle.open());
  try {
    return await fn(h);
  } finally {
    if (!host) await h.close();
  }
}

async function run<D extends { changed: boolean }>(h: Handle, planned: { diff: D; steps: Parameters<typeof runSteps<unknown>>[0] }, dryRun: boolean): Promise<Applied<D>> {
  const plan = planned.diff.changed ? planned.steps.map((s) => s.describe) : [];
  if (!dryRun && planned.diff.changed) {
    try {
      await runSteps(planned.steps, { host: h });
    } catch (e) {
      throw applyError(e);
    }
  }
  return { ...planned.diff, dryRun, plan };
}

export const bridge = {
  /** A bridge as declared: created (up, marked) if missing, adjusted if ours, its gateway address in place. */
  async ensure(spec: BridgeSpec, opts: ApplyOptions = {}): Promise<Applied<BridgeDiff>> {
    const s = normalizeBridge(spec);
    return withHost(opts.host, async (h) => run(h, await planBridge(h, s), opts.dryRun ?? false));
  },
};

export const overlay = {
  /** A VXLAN device as declared, on its bridge, flooding to exactly `peers`; returns what changed. */
  async apply(spec: OverlaySpec, opts: ApplyOptions = {}): Promise<Applied<OverlayDiff>> {
    const s = normalizeOverlay(spec);
    return withHost(opts.host, async (h) => run(h, await planOverlay(h, s), opts.dryRun ?? false));
  },
  async show(name: string, opts: { host?: Handle } = {}): Promise<OverlayInfo> {
    return withHost(opts.host, (h) => showOverlay(h, name));
  },
  /** Deletes an overlay pipewright made; a missing one is 'absent' (idempotent); anyone else's is refused. */
  async delete(name: string, opts: { host?: Handle; owner?: string; dryRun?: boolean } = {}): Promise<DeleteResult> {
    const { host, ...rest } = opts;
    return withHost(host, (h) => deleteOverlay(h, name, rest));
  },
};

export { applyTopology, normalizeTopology } from './topology';
export type { Topology, TopologyResult } from './topology';
