// bridge.ensure: a bridge as declared — created (up, marked as ours) when
// missing, adjusted when it is ours, and its gateway address in place.
// Planning only reads; what it would change is a list of steps, each with
// its undo, run by the caller's transaction (one bridge, or a topology).
import type { Handle } from '../../core/handle';
import type { Link, LinkChanges } from '../../core/types';
import type { Step } from '../transaction';
import { declaredAlias, parseDeclaredAlias } from '../ownership';
import { conflict, standing } from './ownership';
import type { NormalizedBridge } from './spec';

export interface BridgeDiff {
  name: string;
  changed: boolean;
  created: boolean;
  /** Changes to an existing bridge of ours, in words ('mtu 1500 → 1450', 'up', 'stp off → on'). */
  adjusted: string[];
  addressAdded?: string;
  addressRemoved?: string;
}

export interface Planned<D> {
  diff: D;
  steps: Step<unknown>[];
}

const cidrOf = (a: { address: string; prefixLen: number }) => `${a.address}/${a.prefixLen}`;

/** The steps that make bridge `s` so; `topology` names the topology it belongs to (`pipewright apply`). */
export async function planBridge(h: Handle, s: NormalizedBridge, topology?: string): Promise<Planned<BridgeDiff>> {
  const address = s.address ? cidrOf(s.address) : undefined;
  const link = await h.link.find(s.name);
  // Without a topology (the bridge command), a bridge a topology made keeps that topology's mark.
  const top = topology ?? parseDeclaredAlias(link?.alias)?.topology;
  const alias = declaredAlias({ owner: s.owner, kind: 'bridge', ...(top ? { topology: top } : {}), ...(address ? { address } : {}) });
  if (!link) return created(h, s, alias, address);
  if (link.kind !== 'bridge') throw conflict(`'${s.name}' exists and is not a bridge (it is a ${link.kind ?? 'device without a kind'})`, 'name', s.name);

  const diff: BridgeDiff = { name: s.name, changed: false, created: false, adjusted: [] };
  const steps: Step<unknown>[] = [];
  const have = await h.addr.list({ dev: link.index, family: s.address?.family ?? 4 });
  const hasAddress = address !== undefined && have.some((a) => cidrOf(a) === address);
  const st = standing(link, 'bridge', s.owner, topology);
  const wrongStp = s.stp !== undefined && link.bridge?.stp !== undefined && link.bridge.stp !== s.stp;
  if (!st.ours) {
    // Someone else's bridge: used as it is, never changed.
    const differs = [
      !link.up && 'it is down',
      s.mtu !== undefined && link.mtu !== s.mtu && `its mtu is ${link.mtu}, not ${s.mtu}`,
      wrongStp && `stp is ${link.bridge!.stp ? 'on' : 'off'}`,
      address !== undefined && !hasAddress && `it lacks ${address}`,
    ].filter(Boolean);
    if (differs.length) throw conflict(`bridge '${s.name}' exists and is not pipewright's (${st.why}); it differs from what is declared (${differs.join(', ')}) and is left alone`, 'name', s.name);
    return { diff, steps };
  }
  // STP changes in place (IFLA_BR_STP_STATE on the existing bridge): its ports keep their links; they pass through STP's listening/learning states again.
  if (wrongStp) steps.push(setStep(h, link, { bridge: { stp: s.stp! } }, { bridge: { stp: link.bridge!.stp! } }, `set bridge ${s.name} stp ${onOff(link.bridge!.stp!)} → ${onOff(s.stp!)}`, diff));
  if (s.mtu !== undefined && link.mtu !== s.mtu) steps.push(setStep(h, link, { mtu: s.mtu }, { mtu: link.mtu! }, `set bridge ${s.name} mtu ${link.mtu} → ${s.mtu}`, diff));
  if (!link.up) steps.push(setStep(h, link, { up: true }, { up: false }, `set bridge ${s.name} up`, diff));
  const old = st.mark.address;
  // The bridge command without --address leaves the address it set before; a topology declares it exactly.
  const keep = address === undefined && topology === undefined;
  const mark = keep && old ? declaredAlias({ ...st.mark, ...(top ? { topology: top } : {}) }) : alias;
  if (!keep && old !== undefined && old !== address && have.some((a) => cidrOf(a) === old)) {
    diff.addressRemoved = old;
    steps.push({
      describe: `remove address ${old} from bridge ${s.name} (set by pipewright, no longer declared)`,
      undo: `add address ${old} to bridge ${s.name} again`,
      run: async () => {
        await h.addr.del(link.index, old);
        return () => h.addr.add(link.index, old);
      },
    });
  }
  if (address !== undefined && !hasAddress) {
    diff.addressAdded = address;
    steps.push(addressStep(h, s.name, address));
  }
  if (link.alias !== mark) steps.push(aliasStep(h, link, mark));
  diff.changed = steps.length > 0;
  return { diff, steps };
}

function created(h: Handle, s: NormalizedBridge, alias: string, address: string | undefined): Planned<BridgeDiff> {
  const opts = [s.stp !== undefined && `stp ${s.stp ? 'on' : 'off'}`, s.mtu !== undefined && `mtu ${s.mtu}`].filter(Boolean).join(', ');
  const steps: Step<unknown>[] = [
    {
      describe: `create bridge ${s.name} (up${opts ? `, ${opts}` : ''})`,
      undo: `delete bridge ${s.name}`,
      run: async () => {
        const br = await h.link.add({ kind: 'bridge', name: s.name, up: true, ...(s.stp !== undefined ? { stp: s.stp } : {}), ...(s.mtu !== undefined ? { mtu: s.mtu } : {}) });
        const undo = () => h.link.del(br.index);
        // The kernel takes an alias only as a change: mark it right after.
        await h.link.set(br.index, { alias }).catch(async (e) => {
          await undo().catch(() => undefined);
          throw e;
        });
        return undo;
      },
    },
  ];
  if (address !== undefined) steps.push(addressStep(h, s.name, address));
  return { diff: { name: s.name, changed: true, created: true, adjusted: [], ...(address ? { addressAdded: address } : {}) }, steps };
}

function addressStep(h: Handle, name: string, address: string): Step<unknown> {
  return {
    describe: `add address ${address} to bridge ${name}`,
    undo: `remove address ${address} from bridge ${name}`,
    run: async () => {
      await h.addr.add(name, address);
      return () => h.addr.del(name, address);
    },
  };
}

function aliasStep(h: Handle, link: Link, alias: string): Step<unknown> {
  return {
    describe: `mark bridge ${link.name} as pipewright's (${alias})`,
    undo: `restore the mark of bridge ${link.name}`,
    run: async () => {
      await h.link.set(link.index, { alias });
      return () => h.link.set(link.index, { alias: link.alias ?? '' });
    },
  };
}

const onOff = (on: boolean) => (on ? 'on' : 'off');

type BridgeChange = Pick<LinkChanges, 'mtu' | 'up' | 'bridge'>;

function setStep(h: Handle, link: Link, change: BridgeChange, back: BridgeChange, describe: string, diff: BridgeDiff): Step<unknown> {
  diff.adjusted.push(describe.replace(/^set bridge \S+ /, ''));
  const said = (c: BridgeChange) => [c.mtu !== undefined && `mtu ${c.mtu}`, c.up !== undefined && (c.up ? 'up' : 'down'), c.bridge?.stp !== undefined && `stp ${onOff(c.bridge.stp)}`].filter(Boolean).join(', ');
  return {
    describe,
    undo: `set bridge ${link.name} back (${said(back)})`,
    run: async () => {
      await h.link.set(link.index, change);
      return () => h.link.set(link.index, back);
    },
  };
}
