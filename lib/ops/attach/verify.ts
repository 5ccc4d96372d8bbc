// The read-back after an attach's steps: what the kernel says, judged against
// what was asked. Nothing is assumed from the requests having succeeded.
import { PipewrightError } from '../../core/errors';
import { guestRef, type Ctx } from './context';
import type { Address, Link, Route } from '../../core/types';
import type { OpCall } from '../../core/op-types';

function verifyFailed(message: string): PipewrightError {
  return new PipewrightError('ERR_PW_VERIFY_FAILED', message);
}

/**
 * The guest interface, its addresses and the guest's routes: one batch (one
 * hop to the addon's thread instead of three). Should the batch fail (the
 * interface gone between two of its reads, say), each is read alone, as
 * judged below.
 */
async function readGuest(c: Ctx): Promise<[Link | null, Address[], Route[]]> {
  const g = c.spec.guestIf;
  const ref = guestRef(c);
  const gw = c.spec.gateway;
  try {
    const reads: OpCall[] = [
      { op: 'link.get', args: { name: g, orNull: true } },
      { op: 'addr.list', args: { index: ref } },
      ...(gw ? [{ op: 'route.list', args: { family: gw.family, table: 254 } } as const] : []),
    ];
    const [gl, addrs, routes] = (await c.gh.runBatch(reads)) as [Link | null, Address[], Route[] | undefined];
    return [gl, addrs, routes ?? []];
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
  // Every read at once (one round trip's wait instead of four); judged in order below.
  const [heRead, [gl, addrs, routes]] = await Promise.all([c.mode === 'bridge' ? c.host.link.find(c.hostEnd!.index) : null, readGuest(c)]);
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
  }
  if (!gl) throw verifyFailed(`${g} is not in the guest`);
  if (!gl.up) throw verifyFailed(`${g} is down in the guest`);
  c.guestLink = gl;
  const own = addrs.filter((x) => x.index === gl.index);
  c.addresses = own.map((x) => `${x.address}/${x.prefixLen}`);
  if (c.spec.address) {
    const a = c.spec.address;
    if (!own.some((x) => x.address === a.address && x.prefixLen === a.prefixLen)) throw verifyFailed(`${g} does not have ${a.address}/${a.prefixLen}`);
  }
  if (c.spec.gateway) {
    if (!routes.some((r) => r.dst === 'default' && r.gateway === c.spec.gateway!.address))
      throw verifyFailed(`no default route via ${c.spec.gateway.address} in the guest`);
  }
}
