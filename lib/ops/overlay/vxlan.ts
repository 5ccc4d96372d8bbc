// overlay.apply's plan: the VXLAN device as declared (created, or ours and
// adjusted), up, then enslaved to its bridge, and its flood list made
// exactly the declared peers in one batch; then a read-back. Planning only
// reads; the steps (each with its undo) run in the caller's transaction.
import type { Handle } from '../../core/handle';
import { isNetlinkError, PipewrightError } from '../../core/errors';
import { fdbArgs } from '../../core/api/neigh';
import type { Link } from '../../core/types';
import type { OpArgs } from '../../core/op-types';
import type { Step } from '../transaction';
import { declaredAlias, parseDeclaredAlias } from '../ownership';
import { conflict, standing } from './ownership';
import { FLOOD_MAC, floodDiff, floodPeers } from './flood';
import { mtuTrapError, trapped, vxlanOverhead, type PortMtu } from './mtu';
import type { NormalizedOverlay } from './spec';
import type { Planned } from './bridge';

export interface OverlayDiff {
  name: string;
  changed: boolean;
  created: boolean;
  /** Changes to an existing device of ours, in words. */
  adjusted: string[];
  /** Flood entries added and removed. */
  added: string[];
  removed: string[];
  /** The flood list afterwards. */
  peers: string[];
  mtu: number;
  /** Ports lowered to the overlay's MTU (only with fixMtu). */
  mtuFixed: Array<PortMtu & { to: number }>;
}

/** A bridge the same transaction creates before this overlay (a topology): its declared MTU, if any. */
export interface PendingBridge {
  name: string;
  mtu?: number;
}

export async function planOverlay(h: Handle, s: NormalizedOverlay, opts: { topology?: string; pendingBridge?: PendingBridge } = {}): Promise<Planned<OverlayDiff>> {
  const [under, link, bridge] = await Promise.all([h.link.find(s.dev), h.link.find(s.name), s.bridge ? h.link.find(s.bridge) : null]);
  if (!under) throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `dev: the underlay device '${s.dev}' does not exist in ${h.describe()}`, { field: 'dev', value: s.dev });
  if (s.bridge && !bridge && opts.pendingBridge?.name !== s.bridge)
    throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `bridge: '${s.bridge}' does not exist in ${h.describe()} (create it first: pipewright bridge ${s.bridge})`, { field: 'bridge', value: s.bridge });
  if (bridge && bridge.kind !== 'bridge') throw conflict(`bridge: '${s.bridge}' is not a bridge (it is a ${bridge.kind ?? 'device without a kind'})`, 'bridge', s.bridge);
  // Without a topology (the overlay command), a device a topology made keeps that topology's mark.
  const topology = opts.topology ?? parseDeclaredAlias(link?.alias)?.topology;
  const alias = declaredAlias({ owner: s.owner, kind: 'overlay', ...(topology ? { topology } : {}) });
  const mtu = s.mtu ?? link?.mtu ?? (under.mtu ?? 1500) - vxlanOverhead(s.family);
  const diff: OverlayDiff = { name: s.name, changed: false, created: !link, adjusted: [], added: [], removed: [], peers: [...s.peers], mtu, mtuFixed: [] };
  const steps: Step<unknown>[] = [];

  if (!link) {
    steps.push(createStep(h, s, alias));
    diff.added = [...s.peers];
  } else {
    checkExisting(link, under, s, opts.topology);
    if (link.alias !== alias) steps.push(setStep(h, link, { alias }, { alias: link.alias ?? '' }, `mark vxlan ${s.name} as topology ${opts.topology}'s`, null));
    if (s.mtu !== undefined && link.mtu !== s.mtu) steps.push(setStep(h, link, { mtu: s.mtu }, { mtu: link.mtu! }, `set vxlan ${s.name} mtu ${link.mtu} → ${s.mtu}`, diff));
    // Up before it joins the bridge, as attach brings a port up with its master.
    if (!link.up) steps.push(setStep(h, link, { up: true }, { up: false }, `set vxlan ${s.name} up`, diff));
    if (bridge && link.master !== bridge.index) steps.push(setStep(h, link, { master: bridge.index }, { master: link.master }, `enslave vxlan ${s.name} to bridge ${s.bridge}`, diff));
    else if (!bridge && s.bridge) steps.push(setStep(h, link, { master: s.bridge }, { master: link.master }, `enslave vxlan ${s.name} to bridge ${s.bridge}`, diff));
    const d = floodDiff(floodPeers(await h.fdb.list({ dev: link.index }), link.index), s.peers);
    diff.added = d.add;
    diff.removed = d.remove;
  }
  if (diff.added.length || diff.removed.length) steps.push(floodStep(h, s.name, diff.added, diff.removed));

  // The MTU trap, on the bridge as it is now (a bridge created in the same run has no ports yet).
  if (bridge) {
    const ports = (await h.link.list({ master: bridge.index })).filter((p) => p.name !== s.name && p.mtu !== undefined);
    const bad = trapped(ports.map((p) => ({ name: p.name, mtu: p.mtu! })), mtu);
    if (bad.length && !s.fixMtu) throw mtuTrapError(s.name, mtu, s.bridge!, bad);
    for (const p of bad) {
      diff.mtuFixed.push({ ...p, to: mtu });
      steps.push(setStep(h, ports.find((l) => l.name === p.name)!, { mtu }, { mtu: p.mtu }, `lower port ${p.name} mtu ${p.mtu} → ${mtu} (fixMtu: the overlay's)`, null));
    }
  } else if (opts.pendingBridge?.mtu !== undefined && opts.pendingBridge.mtu > mtu) {
    const bad = [{ name: opts.pendingBridge.name, mtu: opts.pendingBridge.mtu }];
    throw mtuTrapError(s.name, mtu, opts.pendingBridge.name, bad);
  }
  steps.push(verifyStep(h, s, mtu));
  diff.changed = steps.length > 1;
  return { diff, steps };
}

/** An existing device of that name must be ours and what is declared, in what cannot be changed in place. */
function checkExisting(link: Link, under: Link, s: NormalizedOverlay, topology?: string): void {
  if (link.kind !== 'vxlan') throw conflict(`'${s.name}' exists and is not a VXLAN device (it is a ${link.kind ?? 'device without a kind'})`, 'name', s.name);
  const st = standing(link, 'overlay', s.owner, topology);
  if (!st.ours) throw conflict(`vxlan '${s.name}' exists and is not pipewright's to change (${st.why}); it is left alone`, 'name', s.name);
  const x = link.vxlan ?? {};
  const differs: Array<[string, unknown, unknown]> = [
    ['vni', x.vni, s.vni],
    ['port', x.port, s.port],
    ['local', x.local, s.local],
    ['dev', x.dev, under.index],
    ['learning', x.learning, false],
  ];
  for (const [field, have, want] of differs) {
    if (have !== undefined && have !== want)
      throw conflict(`vxlan '${s.name}' has ${field} ${field === 'dev' ? `ifindex ${have}` : have}, declared ${field === 'dev' ? `${s.dev} (ifindex ${want})` : want}: the kernel cannot change it in place; delete it first (pipewright overlay ${s.name} --delete)`, field, want);
  }
}

function createStep(h: Handle, s: NormalizedOverlay, alias: string): Step<unknown> {
  return {
    describe: `create vxlan ${s.name} (vni ${s.vni}, dstport ${s.port}, dev ${s.dev}, local ${s.local}, learning off${s.mtu ? `, mtu ${s.mtu}` : ''}), up${s.bridge ? `, enslaved to ${s.bridge}` : ''}`,
    undo: `delete vxlan ${s.name}`,
    run: async () => {
      // One request: created up and enslaved, so it never forwards half-configured.
      const link = await h.link.add({
        kind: 'vxlan', name: s.name, vni: s.vni, port: s.port, dev: s.dev, local: s.local, learning: false, up: true,
        ...(s.mtu !== undefined ? { mtu: s.mtu } : {}), ...(s.bridge ? { master: s.bridge } : {}),
      });
      const undo = () => h.link.del(link.index);
      await h.link.set(link.index, { alias }).catch(async (e) => {
        await undo().catch(() => undefined);
        throw e;
      });
      return undo;
    },
  };
}

function setStep(h: Handle, link: Link, change: { mtu?: number; up?: boolean; master?: number | string | null; alias?: string }, back: { mtu?: number; up?: boolean; master?: number | null; alias?: string }, describe: string, diff: OverlayDiff | null): Step<unknown> {
  diff?.adjusted.push(describe.replace(/^set vxlan \S+ /, ''));
  return {
    describe,
    undo: `undo: ${describe}`,
    run: async () => {
      await h.link.set(link.index, change);
      return () => h.link.set(link.index, back);
    },
  };
}

type FdbOp = { op: 'neigh.append' | 'neigh.del'; args: OpArgs['neigh.append'] };
const floodOp = (op: FdbOp['op'], dev: string, dst: string): FdbOp => ({ op, args: fdbArgs({ dev, lladdr: FLOOD_MAC, dst }) });

/**
 * The flood list changed in one batch (one hop to the kernel): stale entries
 * removed, missing ones appended. A batch that fails part-way has its
 * completed operations reversed before the error is thrown.
 */
function floodStep(h: Handle, dev: string, add: readonly string[], remove: readonly string[]): Step<unknown> {
  const ops = [...remove.map((a) => floodOp('neigh.del', dev, a)), ...add.map((a) => floodOp('neigh.append', dev, a))];
  const inverse = (done: FdbOp[]): FdbOp[] => done.reverse().map((o) => ({ op: o.op === 'neigh.del' ? 'neigh.append' : 'neigh.del', args: o.args }));
  const parts = [add.length && `add ${add.join(', ')}`, remove.length && `remove ${remove.join(', ')}`].filter(Boolean).join('; ');
  return {
    describe: `flood list of ${dev}: ${parts}`,
    undo: `flood list of ${dev} back as it was`,
    run: async () => {
      try {
        await h.runBatch(ops);
      } catch (e) {
        const done = isNetlinkError(e) && typeof e.failedIndex === 'number' ? ops.slice(0, e.failedIndex) : [];
        if (done.length) await h.runBatch(inverse(done)).catch(() => undefined);
        throw e;
      }
      return async () => {
        await h.runBatch(inverse([...ops]));
      };
    },
  };
}

/** Reads back what apply promises: up, on its bridge, the flood list exactly the peers, no port above its MTU. */
function verifyStep(h: Handle, s: NormalizedOverlay, mtu: number): Step<unknown> {
  return {
    describe: `verify vxlan ${s.name}`,
    run: async () => {
      const link = await h.link.get(s.name);
      const problems: string[] = [];
      if (!link.up) problems.push('it is down');
      const flood = floodPeers(await h.fdb.list({ dev: link.index }), link.index);
      const d = floodDiff(flood, s.peers);
      if (d.add.length || d.remove.length) problems.push(`its flood list is [${flood.join(', ')}], not [${s.peers.join(', ')}]`);
      if (s.bridge) {
        const br = await h.link.find(s.bridge);
        if (!br || link.master !== br.index) problems.push(`it is not a port of ${s.bridge}`);
        else {
          const bad = trapped((await h.link.list({ master: br.index })).filter((p) => p.index !== link.index).map((p) => ({ name: p.name, mtu: p.mtu ?? 0 })), link.mtu ?? mtu);
          if (bad.length) problems.push(mtuTrapError(s.name, link.mtu ?? mtu, s.bridge, bad).message);
        }
      }
      if (problems.length) throw new PipewrightError('ERR_PW_VERIFY_FAILED', `vxlan ${s.name} is not as declared after apply: ${problems.join('; ')}`, { field: 'name', value: s.name });
    },
  };
}
