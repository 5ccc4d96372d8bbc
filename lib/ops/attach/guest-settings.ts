// Settings a caller adds to the guest interface in the hop that brings it up:
// the CNI ADD's addresses and routes, which IPAM chooses while the attach
// runs beside it. They ride after the link's "up" (a route via a gateway
// needs the interface up, to reach that gateway) and before verification's
// reads, which then see them: one hop to the guest's namespace instead of a
// second one after the attach. What they set goes with the interface, so
// the step has no undo of its own.
import type { HostCidr } from '../../core/validate';
import type { Address, RouteSpec } from '../../core/types';
import type { OpCall } from '../../core/op-types';
import { addrArgs } from '../../core/api/addr';
import { routeArgs } from '../../core/api/route';
import { PipewrightError } from '../../core/errors';
import type { Step } from '../transaction';
import { guestRef, type Ctx } from './context';

export interface GuestSettings {
  /** Replaced on the interface (IPv4 ones with their subnet's broadcast, as given). */
  addresses: HostCidr[];
  /** Replaced in the guest, each via the guest interface. */
  routes: Omit<RouteSpec, 'dev'>[];
}

/** The requests, once the settings are known (the guest interface by index when the veth step told it). */
function settingsCalls(c: Ctx, s: GuestSettings): OpCall[] {
  const dev = guestRef(c);
  return [
    ...s.addresses.map((a) => ({ op: 'addr.replace', args: addrArgs(dev, a, a.broadcast ? { broadcast: a.broadcast } : {}) }) as const),
    ...s.routes.map((r) => ({ op: 'route.replace', args: routeArgs({ ...r, dev }) }) as const),
  ];
}

/**
 * The step: joins the guest's batch once the settings are known (Step.ready;
 * the batch waits for them). When they could not be had (IPAM failed, or
 * its answer could not be turned into requests) the step runs alone and
 * fails with that error; the attach is rolled back.
 */
export function guestSettingsStep(settings: Promise<GuestSettings>, g: string): Step<Ctx> {
  let known: GuestSettings | undefined;
  const ready = () => settings.then((s) => (known = s));
  ready().catch(() => undefined); // judged where the step runs
  return {
    describe: `add the caller's addresses and routes to ${g} in the guest`,
    ready,
    request: (c) => {
      if (!known) throw new Error('the settings are not known');
      return { via: c.gh, calls: settingsCalls(c, known) };
    },
    run: async (c) => {
      const calls = settingsCalls(c, await ready());
      if (calls.length > 0) await c.gh.runBatch(calls);
    },
  };
}

/** Verification's part: each address is on the interface (read after the requests, never assumed from them). */
export async function checkGuestSettings(settings: Promise<GuestSettings>, g: string, own: readonly Address[]): Promise<void> {
  for (const a of (await settings).addresses)
    if (!own.some((h) => h.address === a.address && h.prefixLen === a.prefixLen))
      throw new PipewrightError('ERR_PW_VERIFY_FAILED', `${g} in the guest does not have ${a.address}/${a.prefixLen} after it was added`);
}
