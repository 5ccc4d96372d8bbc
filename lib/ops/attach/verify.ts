// The read-back after an attach's steps: what the kernel says, judged against
// what was asked. Nothing is assumed from the requests having succeeded.
import { PipewrightError } from '../../core/errors';
import { guestRef, type Ctx } from './context';
import type { Address, Link, Route } from '../../core/types';
import type { OpCall } from '../../core/op-types';
import type { ReadAhead } from '../transaction';
import { checkGuestSettings } from './guest-settings';
import { linkLocalProblem } from './link-local';

function verifyFailed(message: string): PipewrightError {
  return new PipewrightError('ERR_PW_VERIFY_FAILED', message);
}

/** The guest interface, its addresses and (with a gateway) the guest's routes: one batch. */
function guestReads(c: Ctx): OpCall[] {
  const gw = c.spec.gateway;
  return [
    { op: 'link.get', args: { name: c.spec.guestIf, orNull: true } },
    { op: 'addr.list', args: { index: guestRef(c) } },
    ...(gw ? [{ op: 'route.list', args: { family: gw.family, table: 254 } } as const] : []),
  ];
}

type GuestRead = [Link | null, Address[], Route[]];

const asGuestRead = (r: unknown[]): GuestRead => [(r[0] as Link | null) ?? null, r[1] as Address[], (r[2] as Route[] | undefined) ?? []];

/**
 * Verification's reads asked ahead of it (transaction.ts): the guest's ride
 * at the end of the guest's batch just before it (the interface brought up,
 * its address and route), in the same hop and after those requests. With
 * c.readHostIf, the bridge's read goes beside that batch. The host end is
 * not read ahead: verify() reads it once the guest end is up. Read before,
 * its port state would be stale, and the read would make the kernel run the
 * carrier-off work it has pending for a veth whose peer is down, an RCU
 * grace period it skips when the peer comes up first (design-notes, "Kernel
 * facts"). What they answer is kept in the context for verify(), which
 * reads for itself whatever did not come.
 */
export function verifyReads(c: Ctx): ReadAhead[] {
  const got: NonNullable<Ctx['readBack']> = {};
  c.readBack = got;
  const reads: ReadAhead[] = [
    {
      via: c.gh,
      calls: guestReads(c),
      keep: (r) => {
        if (r) got.guest = asGuestRead(r);
      },
    },
  ];
  if (c.readHostIf && c.mode === 'bridge' && c.hostIfLink) {
    reads.push({
      via: c.host,
      calls: [{ op: 'link.get', args: { index: c.hostIfLink.index, orNull: true } }],
      keep: (r) => {
        if (r) got.hostIf = (r[0] as Link | null) ?? null;
      },
    });
  }
  return reads;
}

/**
 * The guest interface, its addresses and the guest's routes: one batch (one
 * hop to the addon's thread instead of three). Should the batch fail (the
 * interface gone between two of its reads, say), each is read alone, as
 * judged below.
 */
async function readGuest(c: Ctx): Promise<GuestRead> {
  const g = c.spec.guestIf;
  const ref = guestRef(c);
  const gw = c.spec.gateway;
  try {
    return asGuestRead((await c.gh.runBatch(guestReads(c))) as unknown[]);
  } catch {
    return Promise.all([
      c.gh.link.find(g),
      c.gh.addr.list({ dev: ref }).catch((e: { code?: string }) => {
        if (e.code === 'ERR_PW_LINK_NOT_FOUND' || e.code === 'ENODEV') return [];
        throw e;
      }),
      gw ? c.gh.route.list({ family: gw.family }) : [],
    ]);
  }
}

/** Reads everything back; throws ERR_PW_VERIFY_FAILED on the first thing that is not as asked. */
export async function verify(c: Ctx): Promise<void> {
  const g = c.spec.guestIf;
  // What was read ahead (verifyReads), once; the rest is read now, all at once, and judged in order below.
  const ahead = c.readBack;
  c.readBack = undefined;
  const [heRead, [gl, addrs, routes]] = await Promise.all([
    c.mode !== 'bridge' ? null : c.host.link.find(c.hostEnd!.index),
    ahead?.guest ?? readGuest(c),
  ]);
  if (c.mode === 'bridge') {
    let he = heRead;
    if (!he) throw verifyFailed(`host end ${c.hostEndName} disappeared`);
    if (c.spec.repair && (he.master !== c.hostIfLink!.index || !he.up)) {
      // An agent (networkd, udev) undid the port between its creation and
      // this read-back. With repair asked for, put it back once, record it,
      // and judge what the kernel says then.
      const what = [he.master !== c.hostIfLink!.index ? `released from its bridge (master ${he.master ?? 'none'})` : '', he.up ? '' : 'set down'].filter(Boolean).join(' and ');
      await c.host.link.set(he.index, { up: true, master: c.hostIfLink!.index });
      (c.incidents ??= []).push({ atMs: 0, what: `before verification: ${what}`, repaired: true });
      he = (await c.host.link.find(he.index)) ?? he;
    }
    if (he.master !== c.hostIfLink!.index) throw verifyFailed(`host end ${he.name} is not a port of ${c.hostIfName} (master: ${he.master ?? 'none'}): something released it`);
    if (!he.up) throw verifyFailed(`host end ${he.name} is down: something set it down`);
    c.hostEnd = he;
    if (c.readHostIf) {
      const hostIf = ahead?.hostIf !== undefined ? ahead.hostIf : await c.host.link.find(c.hostIfLink!.index);
      if (!hostIf) throw verifyFailed(`${c.hostIfName} disappeared`);
      c.hostIfRead = hostIf;
    }
  }
  if (!gl) throw verifyFailed(`${g} is not in the guest`);
  if (!gl.up) throw verifyFailed(`${g} is down in the guest`);
  const linkLocal = linkLocalProblem(g, c.linkLocalOff === true, gl.ipv6AddrGenMode);
  if (linkLocal) throw verifyFailed(linkLocal);
  c.guestLink = gl;
  const own = addrs.filter((x) => x.index === gl.index);
  c.addresses = own.map((x) => `${x.address}/${x.prefixLen}`);
  if (c.spec.address) {
    const a = c.spec.address;
    if (!own.some((x) => x.address === a.address && x.prefixLen === a.prefixLen)) throw verifyFailed(`${g} does not have ${a.address}/${a.prefixLen}`);
  }
  if (c.guestSettings) await checkGuestSettings(c.guestSettings, g, own);
  if (c.spec.gateway) {
    if (!routes.some((r) => r.dst === 'default' && r.gateway === c.spec.gateway!.address))
      throw verifyFailed(`no default route via ${c.spec.gateway.address} in the guest`);
  }
}
