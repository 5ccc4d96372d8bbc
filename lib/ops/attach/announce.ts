// The last step of an IPv4 attach: announce the guest's address with a
// gratuitous ARP, sent by the guest's own kernel (handle.neigh.announce), so
// that neighbours holding a stale MAC for it (an address reused by a new
// guest) update at once. It comes after verification, which has just read
// the host end: the bridge drops what arrives on a port before the port
// forwards, and a veth's port starts to only once the kernel's link watch
// has seen its carrier, a moment after the guest end came up. The CNI
// plugin, which configures the container's addresses itself, announces them
// the same way (announceAddress).
import type { Handle } from '../../core/handle';
import type { Link } from '../../core/types';
import { isNetlinkError } from '../../core/errors';
import { guestRef, type Ctx } from './context';

/** How long an announcement waits for the kernel to turn the host end's bridge port on. */
const PORT_WAIT_MS = 1000;

/** What an announcement needs: the handles, the port it must pass (bridge mode), the guest interface and its address. */
export interface Announcement {
  host: Handle;
  gh: Handle;
  /** The bridge the host end is a port of, in bridge mode; null in the other modes (no port to wait for). */
  bridge: { index: number; name: string } | null;
  /** The host end as last read, after the guest end came up (its port state saves a request when it already forwards), and its name. */
  hostEnd?: Link;
  hostEndName?: string;
  /** The guest interface, by index (or name). */
  guestIf: string | number;
  /** The IPv4 address to announce. */
  address: string;
  /** Where a port that will not forward is reported. */
  warnings: string[];
}

/**
 * Why a port that is still "disabled" will not forward soon, from what the
 * kernel reports: its bridge is down, or it has no carrier (its peer in the
 * guest is down). null when neither: the kernel's link watch has just not
 * seen the carrier yet, which a moment's wait settles.
 */
async function blockedBecause(a: Announcement, bridgeRef: { index: number; name: string }, he: Link | null | undefined): Promise<string | null> {
  const bridge = await a.host.link.find(bridgeRef.index);
  if (!bridge || !bridge.up)
    return `bridge ${bridgeRef.name} is down, so its ports do not forward: the gratuitous ARP from ${a.hostEndName} cannot pass until it is up (ip link set ${bridgeRef.name} up)`;
  if (he && !he.lowerUp) return `${a.hostEndName} has no carrier (its peer in the guest is down): the gratuitous ARP cannot pass the bridge`;
  return null;
}

/**
 * The host end's bridge port state once it is no longer "disabled" (the
 * kernel's link watch has seen the carrier), or as it was when PORT_WAIT_MS
 * ran out; with `blocked` set (and no wait) when the kernel's state says it
 * will stay disabled. Starts from the host end as last read, so a port that
 * already forwards costs no request. A port in an STP state (listening,
 * learning) is not waited for: it forwards only after the bridge's forward
 * delay, seconds away.
 */
async function portForwarding(a: Announcement, bridge: { index: number; name: string }): Promise<{ state: string | undefined; blocked?: string }> {
  const deadline = Date.now() + PORT_WAIT_MS;
  let he: Link | null | undefined = a.hostEnd;
  if (he?.port?.state === 'disabled') {
    const blocked = await blockedBecause(a, bridge, he);
    if (blocked) return { state: 'disabled', blocked };
  }
  for (;;) {
    const state = he?.port?.state;
    if (state !== 'disabled' || Date.now() >= deadline) return { state };
    await new Promise((r) => setTimeout(r, 1));
    he = await a.host.link.find(a.hostEnd!.index);
  }
}

/** Announces an IPv4 address from the guest interface; warns in a.warnings if the port does not forward. */
export async function announceAddress(a: Announcement): Promise<void> {
  if (a.bridge) {
    const { name } = a.bridge;
    const { state, blocked } = await portForwarding(a, a.bridge);
    if (blocked) a.warnings.push(blocked);
    else if (state !== 'forwarding')
      a.warnings.push(
        state === 'disabled'
          ? `${a.hostEndName} was still not forwarding on ${name} after ${PORT_WAIT_MS} ms: the gratuitous ARP may not get past the bridge`
          : `${a.hostEndName} is ${state ?? 'in an unknown state'} on ${name} (STP: it forwards after the bridge's forward delay): the gratuitous ARP will not get past the bridge before then`,
      );
  }
  try {
    await a.gh.neigh.announce(a.guestIf, a.address);
    return;
  } catch (e) {
    // EEXIST: the guest has its own entry for the address, which the
    // kernel's way would disturb. Send the packet ourselves instead.
    if (!isNetlinkError(e, 'EEXIST')) throw e;
  }
  const link = await a.gh.link.get(a.guestIf);
  await a.gh.neigh.sendGratuitousArp(link.index, a.address, link.address!);
}

/** The attach's last step: announces c.spec.address (IPv4) from the guest interface. */
export function announce(c: Ctx): Promise<void> {
  return announceAddress({
    host: c.host,
    gh: c.gh,
    bridge: c.mode === 'bridge' ? { index: c.hostIfLink!.index, name: c.hostIfName } : null,
    ...(c.hostEnd ? { hostEnd: c.hostEnd } : {}),
    ...(c.hostEndName ? { hostEndName: c.hostEndName } : {}),
    guestIf: guestRef(c),
    address: c.spec.address!.address,
    warnings: c.warnings,
  });
}
