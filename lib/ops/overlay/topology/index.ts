// `pipewright apply FILE` as a library call: a host's whole topology —
// bridges with their addresses, VXLAN overlays with their flood lists,
// guests attached — applied as one plan with one undo. Either everything
// declared exists afterwards, read back, or nothing of this apply does.
// Re-applying a changed topology converges: what is new is added, what this
// topology made and no longer names is removed (guests detached first,
// then overlays, then bridges), after the plan is known.
import { Handle } from '../../../core/handle';
import type { Step } from '../../transaction';
import { runSteps } from '../../transaction';
import { planAttach } from '../../attach';
import { PipewrightError } from '../../../core/errors';
import { planBridge, type BridgeDiff } from '../bridge';
import { applyError } from '../errors';
import { planOverlay, type OverlayDiff } from '../vxlan';
import { planGuests } from './guests';
import { planRemovals } from './removals';
import { normalizeTopology, type NormalizedTopology, type Topology } from './spec';

export type { Topology, NormalizedTopology } from './spec';
export { normalizeTopology } from './spec';

export interface TopologyResult {
  topology: string;
  changed: boolean;
  dryRun: boolean;
  /** Every step, in the order run (or, dry, to be run). */
  plan: string[];
  bridges: BridgeDiff[];
  overlays: OverlayDiff[];
  guests: { attached: string[]; present: string[]; detached: string[] };
  removed: { bridges: string[]; overlays: string[] };
}

async function planAll(h: Handle, t: NormalizedTopology) {
  const bridges = [];
  for (const b of t.bridges) bridges.push(await planBridge(h, b, t.name));
  const overlays = [];
  for (const o of t.overlays) {
    const pending = t.bridges.find((b) => b.name === o.bridge);
    overlays.push(await planOverlay(h, o, { topology: t.name, ...(pending ? { pendingBridge: { name: pending.name, ...(pending.mtu ? { mtu: pending.mtu } : {}) } } : {}) }));
  }
  const guests = await planGuests(h, t, new Set(t.bridges.map((b) => b.name)));
  const removals = await planRemovals(h, t, guests.hostEndsRemoved);
  const detachSteps = guests.steps.filter((s) => s.describe.startsWith('detach '));
  const attachSteps = guests.steps.filter((s) => !s.describe.startsWith('detach '));
  const changing = [...bridges, ...overlays].some((p) => p.diff.changed) || guests.steps.length > 0 || removals.steps.length > 0;
  const steps: Step<unknown>[] = changing
    ? [...detachSteps, ...removals.steps, ...bridges.flatMap((p) => p.steps), ...overlays.flatMap((p) => p.steps), ...attachSteps, verifyStep(h, t)]
    : [];
  return { bridges, overlays, guests, removals, steps };
}

/** The read-back: planning the topology again must find nothing to do. */
function verifyStep(h: Handle, t: NormalizedTopology): Step<unknown> {
  return {
    describe: `verify topology ${t.name}`,
    run: async () => {
      const problems: string[] = [];
      for (const b of t.bridges) if ((await planBridge(h, b, t.name)).diff.changed) problems.push(`bridge ${b.name}`);
      for (const o of t.overlays) if ((await planOverlay(h, o, { topology: t.name })).diff.changed) problems.push(`overlay ${o.name}`);
      for (const g of t.guests) if (!(await planAttach({ ...g.spec, host: h })).alreadyInPlace) problems.push(g.label);
      if (problems.length) throw new PipewrightError('ERR_PW_VERIFY_FAILED', `topology ${t.name} is not as declared after apply: ${problems.join(', ')} differ`, { field: 'topology', value: t.name });
    },
  };
}

export async function applyTopology(topology: Topology, opts: { host?: Handle; dryRun?: boolean } = {}): Promise<TopologyResult> {
  const t = normalizeTopology(topology);
  const h = opts.host ?? (await Handle.open());
  try {
    const p = await planAll(h, t);
    const dryRun = opts.dryRun ?? false;
    if (!dryRun && p.steps.length) {
      try {
        await runSteps(p.steps, { host: h });
      } catch (e) {
        throw applyError(e);
      }
    }
    return {
      topology: t.name,
      changed: p.steps.length > 0,
      dryRun,
      plan: p.steps.map((s) => s.describe),
      bridges: p.bridges.map((x) => x.diff),
      overlays: p.overlays.map((x) => x.diff),
      guests: { attached: p.guests.attach, present: p.guests.present, detached: p.guests.detach },
      removed: { bridges: p.removals.bridges, overlays: p.removals.overlays },
    };
  } finally {
    if (!opts.host) await h.close();
  }
}
