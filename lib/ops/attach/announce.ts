// The last step of an IPv4 attach: announce the guest's address with a
// gratuitous ARP, sent by the guest's own kernel (handle.neigh.announce), so
// that neighbours holding a stale MAC for it (an address reused by a new
// guest) update at once. It comes after verification, which has just read
// the host end: the bridge drops what arrives on a port before the port
// forwards, and a veth's port starts to only once the kernel's link watch
// has seen its carrier, a moment after the guest end came up.
import type { Link } from '../../core/types';
import { isNetlinkError } from '../../core/errors';
import { guestRef, type Ctx } from './context';

/** How long an announcement waits for the kernel to turn the host end's bridge port on. */
const PORT_WAIT_MS = 1000;

/**
 * Why a port that is still "disabled" will not forward soon, from what the
 * kernel reports: its bridge is down, or it has no carrier (its peer in the
 * guest is down). null when neither: the kernel's link watch has just not
 * seen the carrier yet, which a moment's wait settles.
 */
async function blockedBecause(c: Ctx, he: Link | null | undefined): Promise<string | null> {
  const bridge = await c.host.link.find(c.hostIfLink!.index);
  if (!bridge || !bridge.up)
    return `bridge ${c.hostIfName} is down, so its ports do not forward: the gratuitous ARP from ${c.hostEndName} cannot pass until it is up (ip link set ${c.hostIfName} up)`;
  if (he && !he.lowerUp) return `${c.hostEndName} has no carrier (its peer in the guest is down): the gratuitous ARP cannot pass the bridge`;
  return null;
}

/**
 * The host end's bridge port state once it is no longer "disabled" (the
 * kernel's link watch has seen the carrier), or as it was when PORT_WAIT_MS
 * ran out; with `blocked` set (and no wait) when the kernel's state says it
 * will stay disabled. Starts from what verification read, so a port that
 * already forwards costs no request. A port in an STP state (listening,
 * learning) is not waited for: it forwards only after the bridge's forward
 * delay, seconds away.
 */
async function portForwarding(c: Ctx): Promise<{ state: string | undefined; blocked?: string }> {
  const deadline = Date.now() + PORT_WAIT_MS;
  let he: Link | null | undefined = c.hostEnd;
  if (he?.port?.state === 'disabled') {
    const blocked = await blockedBecause(c, he);
    if (blocked) return { state: 'disabled', blocked };
  }
  for (;;) {
    const state = he?.port?.state;
    if (state !== 'disabled' || Date.now() >= deadline) return { state };
    await new Promise((r) => setTimeout(r, 1));
    he = await c.host.link.find(c.hostEnd!.index);
  }
}

/** Announces c.spec.address (IPv4) from the guest interface; warns in c.warnings if the port does not forward. */
export async function announce(c: Ctx): Promise<void> {
  if (c.mode === 'bridge') {
    const { state, blocked } = await portForwarding(c);
    if (blocked) c.warnings.push(blocked);
    else if (state !== 'forwarding')
      c.warnings.push(
        state === 'disabled'
          ? `${c.hostEndName} was still not forwarding on ${c.hostIfName} after ${PORT_WAIT_MS} ms: the gratuitous ARP may not get past the bridge`
          : `${c.hostEndName} is ${state ?? 'in an unknown state'} on ${c.hostIfName} (STP: it forwards after the bridge's forward delay): the gratuitous ARP will not get past the bridge before then`,
      );
  }
  const ip = c.spec.address!.address;
  try {
    await c.gh.neigh.announce(guestRef(c), ip);
    return;
  } catch (e) {
    // EEXIST: the guest has its own entry for the address, which the
    // kernel's way would disturb. Send the packet ourselves instead.
    if (!isNetlinkError(e, 'EEXIST')) throw e;
  }
  const link = await c.gh.link.get(guestRef(c));
  await c.gh.neigh.sendGratuitousArp(link.index, ip, link.address!);
}
