// overlay.show and overlay.delete: what a VXLAN device is (its tunnel, its
// bridge, its flood list, whose it is), and its removal — only when it
// carries pipewright's mark; someone else's device is never deleted.
import type { Handle } from '../../core/handle';
import { PipewrightError, isNetlinkError } from '../../core/errors';
import * as v from '../../core/validate';
import { parseDeclaredAlias, type DeclaredMark } from '../ownership';
import { floodPeers, FLOOD_MAC } from './flood';
import { conflict } from './ownership';

export interface OverlayInfo {
  name: string;
  index: number;
  vni?: number;
  port?: number;
  dev?: string;
  local?: string;
  learning?: boolean;
  mtu?: number;
  up: boolean;
  bridge?: string;
  /** Where unknown and broadcast frames go: the all-zeros entries' destinations. */
  peers: string[];
  /** Other FDB entries of the device (learned or added by hand), not managed by apply. */
  otherEntries: number;
  /** pipewright's mark, or null: someone else's device. */
  owned: DeclaredMark | null;
}

export async function showOverlay(h: Handle, name: string): Promise<OverlayInfo> {
  const n = v.ifname('name', name);
  const link = await h.link.find(n);
  if (!link) throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `no overlay '${n}' in ${h.describe()}`, { field: 'name', value: n });
  if (link.kind !== 'vxlan') throw conflict(`'${n}' is not a VXLAN device (it is a ${link.kind ?? 'device without a kind'})`, 'name', n);
  const x = link.vxlan ?? {};
  const [fdb, dev, master] = await Promise.all([
    h.fdb.list({ dev: link.index }),
    x.dev ? h.link.find(x.dev) : null,
    link.master ? h.link.find(link.master) : null,
  ]);
  const own = fdb.filter((e) => e.index === link.index && e.address !== undefined);
  const info: OverlayInfo = {
    name: link.name, index: link.index, up: link.up,
    peers: floodPeers(fdb, link.index),
    otherEntries: own.filter((e) => e.lladdr !== FLOOD_MAC).length,
    owned: parseDeclaredAlias(link.alias),
  };
  if (x.vni !== undefined) info.vni = x.vni;
  if (x.port !== undefined) info.port = x.port;
  if (dev) info.dev = dev.name;
  if (x.local !== undefined) info.local = x.local;
  if (x.learning !== undefined) info.learning = x.learning;
  if (link.mtu !== undefined) info.mtu = link.mtu;
  if (master) info.bridge = master.name;
  return info;
}

export interface DeleteResult {
  name: string;
  /** 'absent': there was nothing of that name (a repeated delete). */
  status: 'deleted' | 'absent' | 'would-delete';
  /** The flood list it had. */
  peers: string[];
}

/** Deletes a VXLAN device pipewright made (its FDB entries go with it). Idempotent. */
export async function deleteOverlay(h: Handle, name: string, opts: { owner?: string; dryRun?: boolean } = {}): Promise<DeleteResult> {
  const n = v.ifname('name', name);
  const link = await h.link.find(n);
  if (!link) return { name: n, status: 'absent', peers: [] };
  if (link.kind !== 'vxlan') throw conflict(`'${n}' is not a VXLAN device (it is a ${link.kind ?? 'device without a kind'}); not deleted`, 'name', n);
  const mark = parseDeclaredAlias(link.alias);
  if (!mark || mark.kind !== 'overlay') throw conflict(`vxlan '${n}' is not pipewright's (${link.alias ? `alias '${link.alias}'` : 'no pipewright mark'}); not deleted`, 'name', n);
  if (opts.owner !== undefined && mark.owner !== opts.owner) throw conflict(`vxlan '${n}' belongs to owner '${mark.owner}', not '${opts.owner}'; not deleted`, 'owner', opts.owner);
  const peers = floodPeers(await h.fdb.list({ dev: link.index }), link.index);
  if (opts.dryRun) return { name: n, status: 'would-delete', peers };
  try {
    await h.link.del(link.index);
  } catch (e) {
    // Deleted meanwhile by someone else: the outcome asked for.
    if (isNetlinkError(e, 'ENODEV')) return { name: n, status: 'absent', peers: [] };
    throw e;
  }
  return { name: n, status: 'deleted', peers };
}
