// Whether the guest interface makes an IPv6 link-local address. One that
// is given IPv4 addresses only is told to make none (the kernel's address
// generation mode 'none', as `ip link set DEV addrgenmode none`), before
// it comes up: without the address it sends no DAD, no MLD report for it
// and no router solicitation. Each of those is flooded to every port of the
// bridge, and at a few hundred ports the kernel spends ~0.3 ms of CPU on
// each (docs/performance.md, change 38); and an interface meant for IPv4
// takes no part in IPv6 it was not given (Docker turns IPv6 off on its
// IPv4-only interfaces for that reason). The mode goes with the interface,
// so the step has no undo of its own.
import { isNetlinkError } from '../../core/errors';
import type { OpCall } from '../../core/op-types';
import { requestStep, type Step } from '../transaction';
import { guestRef, type Ctx } from './context';
import type { GuestSettings } from './guest-settings';

/** The request that turns the link-local address off (none when `off` is false). */
function calls(c: Ctx, off: boolean): OpCall[] {
  return off ? [{ op: 'link.set', args: { index: guestRef(c), ipv6AddrGenMode: 'none' } }] : [];
}

/** IPv4 addresses only, and at least one. */
function ipv4Only(s: GuestSettings): boolean {
  return s.addresses.length > 0 && s.addresses.every((a) => a.family === 4);
}

/**
 * The step, before the one that brings the guest interface up; null when the
 * interface keeps its link-local address. `decided` is the spec's choice;
 * undefined leaves it to the caller's settings (a CNI ADD's IPAM answer),
 * which the step then waits for, as the settings' own step does.
 */
export function linkLocalStep(g: string, decided: boolean | undefined, settings: Promise<GuestSettings> | undefined): Step<Ctx> | null {
  if (decided === true || (decided === undefined && !settings)) return null;
  let off = decided === false;
  const ready = settings && decided === undefined ? () => settings.then((s) => (off = ipv4Only(s))) : undefined;
  ready?.().catch(() => undefined); // judged where the settings' step runs
  return requestStep({
    describe: ready ? `make no IPv6 link-local address on ${g} if the caller's addresses are IPv4 only` : `make no IPv6 link-local address on ${g} (no IPv6 address is asked for it)`,
    ...(ready ? { ready } : {}),
    request: (c) => {
      c.linkLocalOff = off;
      return {
        via: c.gh,
        calls: calls(c, off),
        failed: async (e) => {
          // A kernel without IPv6 for the interface (booted with ipv6.disable=1): there is nothing to turn off.
          if (!isNetlinkError(e, 'EAFNOSUPPORT')) throw e;
        },
      };
    },
  });
}

/** Verification's part: an interface told to make no link-local address still says so (read, never assumed). */
export function linkLocalProblem(g: string, asked: boolean, mode: string | number | undefined): string | null {
  if (!asked || mode === undefined || mode === 'none') return null;
  return `${g} makes IPv6 link-local addresses again (address generation mode ${String(mode)}): something changed it`;
}
