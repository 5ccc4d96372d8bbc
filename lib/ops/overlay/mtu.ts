// The MTU trap: a bridge port whose MTU is larger than the VXLAN device's
// (a 1500 guest behind a 1450 overlay). The bridge forwards the guest's
// full-size frames to the VXLAN device, which drops them without a word:
// small packets (ping) pass, a TCP handshake passes, the first full segment
// vanishes. Pure: the checks on what was read.
import { conflict } from './ownership';

/** Bytes VXLAN adds to a frame: outer IP + UDP + VXLAN + the inner Ethernet header. */
export function vxlanOverhead(family: 4 | 6): number {
  return family === 4 ? 50 : 70;
}

export interface PortMtu {
  name: string;
  mtu: number;
}

/** The ports larger than the overlay. */
export function trapped(ports: readonly PortMtu[], overlayMtu: number): PortMtu[] {
  return ports.filter((p) => p.mtu > overlayMtu);
}

/** The refusal for trapped ports, naming each and both ways out. */
export function mtuTrapError(overlay: string, overlayMtu: number, bridge: string, ports: readonly PortMtu[]) {
  const list = ports.map((p) => `${p.name} (mtu ${p.mtu})`).join(', ');
  return conflict(
    `the MTU trap: ${list} on bridge ${bridge} ${ports.length === 1 ? 'is' : 'are'} larger than overlay ${overlay} (mtu ${overlayMtu}); their full-size frames would be dropped silently. Give the guests mtu ${overlayMtu} (attach --mtu ${overlayMtu}), or ask pipewright to lower those ports (fixMtu / --fix-mtu)`,
    'mtu',
    overlayMtu,
  );
}
