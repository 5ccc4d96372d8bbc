// A topology: the bridges, overlays and guests one host should have, as
// data (what `pipewright apply FILE` reads). Validated whole before anything
// is planned: each part by its own rules, then the cross-checks a single
// part cannot make (duplicate names, an overlay's bridge, guests larger
// than the overlay on their bridge). Pure.
import { invalidArgument, PipewrightError } from '../../../core/errors';
import * as v from '../../../core/validate';
import { buildSpec, type AttachSpec, type NormalizedSpec } from '../../attach/spec';
import { normalizeBridge, normalizeOverlay, ownerTag, type BridgeSpec, type NormalizedBridge, type NormalizedOverlay, type OverlaySpec } from '../spec';

export interface Topology {
  /** The topology's name, written into the marks of what it creates: a re-apply removes only its own. */
  name: string;
  owner?: string;
  /** Create named guest namespaces that do not exist yet (as `batch --create-netns`). */
  createNetns?: boolean;
  bridges?: BridgeSpec[];
  overlays?: OverlaySpec[];
  /** Attach specs (no owner: the topology's guests carry the topology's). */
  guests?: Array<Omit<AttachSpec, 'owner' | 'host'>>;
}

export interface NormalizedGuest {
  spec: AttachSpec;
  normalized: NormalizedSpec;
  /** Its label in plans and errors: "guests[0] (containerA eth0)". */
  label: string;
}

export interface NormalizedTopology {
  name: string;
  owner: string;
  /** The owner tag of the topology's attachments: how a re-apply finds them in the journal. */
  guestOwner: string;
  createNetns: boolean;
  bridges: NormalizedBridge[];
  overlays: NormalizedOverlay[];
  guests: NormalizedGuest[];
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** Re-throws a part's validation error with the part's path in front ('overlays[0].vni: 0 must be ...'). */
function within<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof PipewrightError) || e.code !== 'ERR_PW_INVALID_ARGUMENT') throw e;
    const field = e.field ? `${path}.${e.field}` : path;
    const rest = e.field && e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
    throw new PipewrightError('ERR_PW_INVALID_ARGUMENT', `${field}: ${rest}`, { field, value: e.value });
  }
}

function list<T>(o: Record<string, unknown>, key: string): T[] {
  if (o[key] === undefined) return [];
  if (!Array.isArray(o[key])) throw invalidArgument(key, o[key], 'must be a list');
  return o[key] as T[];
}

function guestName(g: unknown): string {
  if (typeof g === 'string') return g;
  if (g && typeof g === 'object') return String(Object.values(g)[0]);
  return String(g);
}

export function normalizeTopology(t: Topology): NormalizedTopology {
  const o = v.object('topology', t);
  v.knownKeys('', o, ['name', 'owner', 'createNetns', 'bridges', 'overlays', 'guests']);
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) throw invalidArgument('name', o.name, 'must be a topology name: 1 to 32 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const owner = ownerTag('owner', o.owner);
  const guestOwner = `${owner}@${o.name}`;
  if (guestOwner.length > 64) throw invalidArgument('name', o.name, `with owner '${owner}' makes an owner tag longer than 64 bytes`);
  const bridges = list<BridgeSpec>(o, 'bridges').map((b, i) => within(`bridges[${i}]`, () => normalizeBridge({ ...v.object(`bridges[${i}]`, b), owner } as BridgeSpec)));
  const overlays = list<OverlaySpec>(o, 'overlays').map((x, i) => within(`overlays[${i}]`, () => normalizeOverlay({ ...v.object(`overlays[${i}]`, x), owner } as OverlaySpec)));
  const names = new Map<string, string>();
  const claim = (name: string, path: string) => {
    const first = names.get(name);
    if (first) throw invalidArgument(`${path}.name`, name, `is already declared by ${first}`);
    names.set(name, path);
  };
  bridges.forEach((b, i) => claim(b.name, `bridges[${i}]`));
  overlays.forEach((x, i) => claim(x.name, `overlays[${i}]`));
  overlays.forEach((x, i) => {
    const same = overlays.findIndex((y) => y.vni === x.vni && y.port === x.port && y.local === x.local);
    if (same !== i) throw invalidArgument(`overlays[${i}].vni`, x.vni, `is overlays[${same}]'s too, on the same port and local address: the kernel allows one device per VNI there`);
    const br = x.bridge === undefined ? undefined : bridges.find((b) => b.name === x.bridge);
    if (br?.mtu !== undefined && x.mtu !== undefined && br.mtu > x.mtu)
      throw invalidArgument(`bridges[${bridges.indexOf(br)}].mtu`, br.mtu, `is larger than overlay ${x.name}'s mtu ${x.mtu} on it (the MTU trap: frames the bridge sends would be dropped)`);
  });
  const seen = new Map<string, string>();
  const guests = list<Record<string, unknown>>(o, 'guests').map((g, i) => {
    const path = `guests[${i}]`;
    const spec = v.object(path, g);
    if (spec.owner !== undefined) throw invalidArgument(`${path}.owner`, spec.owner, `is set by the topology ('${guestOwner}'): that is how a re-apply knows its guests`);
    const full = { ...spec, owner: guestOwner } as AttachSpec;
    const normalized = within(path, () => buildSpec(full));
    const label = `${path} (${guestName(spec.guest)} ${normalized.guestIf})`;
    const key = `${guestName(spec.guest)}/${normalized.guestIf}`;
    if (seen.has(key)) throw invalidArgument(`${path}.guestIf`, normalized.guestIf, `is already attached in ${guestName(spec.guest)} by ${seen.get(key)}`);
    seen.set(key, path);
    const over = overlays.find((x) => x.bridge === normalized.hostIf);
    if (over?.mtu !== undefined && normalized.mtu !== undefined && normalized.mtu > over.mtu)
      throw invalidArgument(`${path}.mtu`, normalized.mtu, `is larger than overlay ${over.name}'s mtu ${over.mtu} on bridge ${over.bridge} (the MTU trap: its full-size frames would be dropped)`);
    return { spec: full, normalized, label };
  });
  const createNetns = o.createNetns === undefined ? false : v.bool('createNetns', o.createNetns);
  return { name: o.name, owner, guestOwner, createNetns, bridges, overlays, guests };
}
