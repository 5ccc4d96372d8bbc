// The read-back after an attach's steps: what the kernel says, judged against
// what was asked. Nothing is assumed from the requests having succeeded.
import { PipewrightError } from '../../core/errors';
import { guestRef, type Ctx } from './context';

function verifyFailed(message: string): PipewrightError {
  return new PipewrightError('ERR_PW_VERIFY_FAILED', message);
}

/** Reads everything back; throws ERR_PW_VERIFY_FAILED on the first thing that is not as asked. */
export async function verify(c: Ctx): Promise<void> {
  const g = c.spec.guestIf;
  // Every read at once (one round trip's wait instead of four); judged in order below.
  const [heRead, gl, addrs, routes] = await Promise.all([
    c.mode === 'bridge' ? c.host.link.find(c.hostEnd!.index) : null,
    c.gh.link.find(g),
    c.gh.addr.list({ dev: guestRef(c) }).catch((e: { code?: string }) => {
      if (e.code === 'ERR_PW_LINK_NOT_FOUND' || e.code === 'ENODEV') return [];
      throw e;
    }),
    c.spec.gateway ? c.gh.route.list({ family: c.spec.gateway.family }) : [],
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
