// Inspect, then plan: everything an attach will do, as an ordered list of
// steps each with its undo, computed from read-only lookups. --dry-run prints
// the plan; attach() runs it through the undo stack.
import type { Handle } from '../../core/handle';
import type { Link, Route, RouteSpec } from '../../core/types';
import { addrArgs } from '../../core/api/addr';
import { linkSetArgs } from '../../core/api/link';
import { routeArgs } from '../../core/api/route';
import { Netns } from '../../core/netns';
import { PipewrightError, isNetlinkError } from '../../core/errors';
import { requestStep, type Step, type UndoFn } from '../transaction';
import type { NormalizedSpec } from './spec';
import { hostEndName } from './names';
import { aliasFor, conflict, existing, lostRace } from './existing';
import { guestRef, type AttachMode, type Ctx } from './context';
import { verify, verifyReads } from './verify';
import { completedFields } from './record';
import { announce } from './announce';
import { guestSettingsStep } from './guest-settings';
import { linkLocalStep } from './link-local';
import { bridgeAlias, physAlias, leftoverSentence, unfinishedEntry } from '../ownership';

/** A veth end's queues as attach creates them: one each way (see the veth step). */
const ONE_QUEUE = { txQueues: 1, rxQueues: 1 } as const;

export interface Plan {
  mode: AttachMode;
  steps: Step<Ctx>[];
  /** Set when the attachment already exists exactly as asked. */
  alreadyInPlace: boolean;
}

/**
 * An undo that deletes: something may have removed the object already (the
 * very thing that made the attach fail, e.g. a bridge deleted under us), and
 * "already gone" is what the undo wanted.
 */
function deleteIfPresent(h: Handle, index: number): () => Promise<void> {
  return async () => {
    try {
      await h.link.del(index);
    } catch (e) {
      if (!isNetlinkError(e, 'ENODEV')) throw e;
    }
  };
}

/** Finds the host interface; decides the mode. Creates nothing. */
export async function inspectHostIf(host: Handle, spec: NormalizedSpec): Promise<{ link: Link | null; name: string; mode: AttachMode }> {
  let link: Link | null;
  let name = spec.hostIf;
  if (spec.hostIfMac) {
    link = (await host.link.list()).find((l) => l.address === spec.hostIfMac) ?? null;
    if (!link) throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `no host interface has the MAC address ${spec.hostIfMac}`, { field: 'hostIf', value: spec.hostIf });
    name = link.name;
  } else link = await host.link.find(name);
  return hostIfMode(host, spec, link, name);
}

/** The mode for the host interface as found (null: missing, created as a bridge when named br*). Creates nothing. */
export function hostIfMode(host: Handle, spec: NormalizedSpec, link: Link | null, name: string): { link: Link | null; name: string; mode: AttachMode } {
  if (!link) {
    if (!name.startsWith('br'))
      throw new PipewrightError('ERR_PW_LINK_NOT_FOUND', `host interface '${name}' does not exist in ${host.describe()} (only a missing name starting with 'br' is created, as a bridge)`, { field: 'hostIf', value: name });
    if (spec.vlan !== undefined) throw conflict(`VLAN ${spec.vlan} on a Linux bridge is not supported (as in pipework): use a physical interface, or a bridge per VLAN`, 'vlan', spec.vlan);
    if (spec.directPhys) throw conflict(`directPhys needs an existing device; '${name}' does not exist`, 'hostIf', name);
    return { link: null, name, mode: 'bridge' };
  }
  if (link.kind === 'bridge') {
    if (spec.vlan !== undefined) throw conflict(`VLAN ${spec.vlan} on a Linux bridge is not supported (as in pipework): use a physical interface, or a bridge per VLAN`, 'vlan', spec.vlan);
    if (spec.directPhys) throw conflict(`directPhys moves a device into the guest; '${name}' is a bridge`, 'hostIf', name);
    return { link, name, mode: 'bridge' };
  }
  return { link, name, mode: spec.directPhys ? 'direct-phys' : 'macvlan' };
}

/**
 * existing(), read together with the journal: what is in the way may be an
 * attach of ours that never finished (killed part-way, or still at work).
 * Then the conflict says so and names the command that removes or finishes
 * it; and something that looks complete but whose attach never finished is
 * not reported as already attached.
 */
async function inPlace(ctx: Ctx, hostEndGiven: boolean): Promise<boolean> {
  // This attach's own entry, written beside the plan, is not another's unfinished work.
  const unfinished = async () => unfinishedEntry(ctx.guest.netns.id, ctx.spec.guestIf, await ctx.guestCookie, ctx.journalFile).catch(() => null);
  let found: boolean;
  try {
    found = await existing(ctx, hostEndGiven);
  } catch (e) {
    const c = e instanceof PipewrightError && e.code === 'ERR_PW_CONFLICT' ? await unfinished() : null;
    if (!c) throw e;
    throw conflict(`${(e as Error).message}: ${leftoverSentence(c)}`, (e as PipewrightError).field ?? 'guestIf', (e as PipewrightError).value);
  }
  if (!found) return false;
  const c = await unfinished();
  if (c) throw conflict(`'${ctx.spec.guestIf}' already exists in the guest, but ${leftoverSentence(c)}`, 'guestIf', ctx.spec.guestIf);
  return true;
}

/** The guest has a default route already: it is read (and journaled) for the undo, then replaced. */
async function replaceDefault(c: Ctx, route: RouteSpec, family: 4 | 6): Promise<UndoFn> {
  const prev: Route | undefined = (await c.gh.route.list({ family })).find((r) => r.dst === 'default');
  // Recorded before it is replaced: a crash after the replace must not lose it.
  if (prev) await c.journal?.note({ previousDefault: { ...(prev.gateway ? { gateway: prev.gateway } : {}), ...(prev.dev !== undefined ? { dev: prev.dev } : {}), ...(prev.onlink ? { onlink: true } : {}) } });
  await c.gh.route.replace(route);
  return async () => {
    if (!prev) return;
    await c.gh.route.replace({ dst: 'default', ...(prev.gateway ? { gateway: prev.gateway } : {}), ...(prev.dev ? { dev: prev.dev } : {}), ...(prev.onlink ? { onlink: true } : {}) });
  };
}

/** Bridge mode: the host end's name, the one given or pipework's (names.ts), into ctx.hostEndName. */
export function chooseHostEndName(ctx: Ctx): void {
  if (ctx.mode !== 'bridge') return;
  const pid = ctx.guest.pid;
  ctx.hostEndName = ctx.spec.hostEnd ?? hostEndName(ctx.spec.guestIf, pid ?? ctx.guest.netns.ino, pid !== undefined);
}

export async function makePlan(ctx: Ctx): Promise<Plan> {
  const { spec } = ctx;
  // A missing DHCP client is known now: say so before anything is created.
  // Lazy: dhcp/ loads node:child_process, which an attach without DHCP never needs (~3-5 ms).
  if (spec.dhcp) (await import('../dhcp')).checkDhcpClient(spec.dhcp);
  const hostEndGiven = spec.hostEnd !== undefined;
  chooseHostEndName(ctx);
  if (ctx.mode === 'macvlan' && spec.vlan !== undefined) {
    const vlanName = `${ctx.hostIfName}.${spec.vlan}`.slice(0, 15);
    const vl = await ctx.host.link.find(vlanName);
    if (vl && (vl.kind !== 'vlan' || vl.vlanId !== spec.vlan)) throw conflict(`${vlanName} already exists but is not a VLAN device for tag ${spec.vlan}`, 'vlan', spec.vlan);
    if (vl) ctx.vlanLink = vl;
  }
  if (await inPlace(ctx, hostEndGiven)) return { mode: ctx.mode, steps: [], alreadyInPlace: true };

  const steps: Step<Ctx>[] = [];
  const g = spec.guestIf;
  const where = ctx.guest.label;
  const mtu = ctx.mtu;

  if (ctx.mode === 'bridge') {
    if (!ctx.hostIfLink) {
      steps.push({
        describe: `create bridge ${ctx.hostIfName} (up)`,
        undo: `delete bridge ${ctx.hostIfName}`,
        run: async (c) => {
          let br;
          try {
            br = await c.host.link.add({ kind: 'bridge', name: c.hostIfName, up: true, alias: bridgeAlias(c.spec.owner) });
          } catch (e) {
            // Another attach (a parallel script, a batch) created it since we
            // looked: a bridge of that name is what we wanted, and it is not
            // ours to undo.
            if (!isNetlinkError(e, 'EEXIST')) throw e;
            const found = await c.host.link.get(c.hostIfName);
            if (found.kind !== 'bridge') throw e;
            c.hostIfLink = found;
            return;
          }
          c.hostIfLink = br;
          // A crash from here on leaves a bridge only the journal can say is this attach's.
          await c.journal?.note({ bridgeIndex: br.index });
          // By the time this undo runs, other attaches may have ports on the
          // bridge: it then stays (ours goes with our veth, undone before).
          return async () => {
            if ((await c.host.link.list({ master: br.index })).length > 0) return;
            await deleteIfPresent(c.host, br.index)();
          };
        },
      });
    }
    steps.push({
      describe: `create veth ${ctx.hostEndName} (up, port of ${ctx.hostIfName}, mtu ${mtu}, group ${spec.group}) with peer ${g} born in guest ${where}${spec.mac ? ` (mac ${spec.mac})` : ''}: one request`,
      undo: `delete ${ctx.hostEndName} (its peer ${g} goes with it)`,
      run: async (c) => {
        let link;
        try {
          // One queue each way at both ends, as many as a veth uses unless told
          // otherwise: spares the kernel an RCU grace period per end (types.ts LinkQueues).
          link = await c.host.link.add({
            kind: 'veth', name: c.hostEndName!, up: true, master: c.hostIfLink!.index, mtu, group: c.spec.group, alias: aliasFor(c), ...ONE_QUEUE,
            peer: { name: g, netns: c.guest.netns, mtu, ...ONE_QUEUE, ...(c.spec.mac ? { address: c.spec.mac } : {}) },
          });
        } catch (e) {
          // A name taken since inspection: a race lost, not a failure.
          if (isNetlinkError(e, 'EEXIST')) throw await lostRace(c, hostEndGiven, e);
          throw e;
        }
        c.hostEnd = link;
        c.guestIndex = link.link;
        return deleteIfPresent(c.host, link.index);
      },
    });
  } else if (ctx.mode === 'macvlan') {
    if (spec.vlan !== undefined && !ctx.vlanLink) {
      const vlanName = `${ctx.hostIfName}.${spec.vlan}`.slice(0, 15);
      steps.push({
        describe: `create vlan ${vlanName} (id ${spec.vlan}) on ${ctx.hostIfName}, up`,
        undo: `delete vlan ${vlanName}`,
        run: async (c) => {
          const vl = await c.host.link.add({ kind: 'vlan', name: vlanName, parent: c.hostIfLink!.index, vlanId: c.spec.vlan!, mtu, up: true });
          c.vlanLink = vl;
          return deleteIfPresent(c.host, vl.index);
        },
      });
    }
    const parentName = spec.vlan !== undefined ? `${ctx.hostIfName}.${spec.vlan}` : ctx.hostIfName;
    if (!ctx.hostIfLink!.up) {
      steps.push({
        describe: `bring ${ctx.hostIfName} up (a macvlan needs its lower device up)`,
        undo: `bring ${ctx.hostIfName} back down`,
        run: async (c) => {
          await c.host.link.set(c.hostIfLink!.index, { up: true });
          return () => c.host.link.set(c.hostIfLink!.index, { up: false });
        },
      });
    }
    steps.push({
      describe: `create macvlan ${g} (bridge mode) on ${parentName}, born in guest ${where} (mtu ${mtu}${spec.mac ? `, mac ${spec.mac}` : ''})`,
      undo: `delete ${g} in the guest`,
      run: async (c) => {
        const parent = (c.vlanLink ?? c.hostIfLink)!.index;
        // The group is applied with the creation, the mark just after (see ../ownership/marks.ts).
        const link = await c.host.link.add({ kind: 'macvlan', name: g, parent, mode: 'bridge', mtu, group: c.spec.group, netns: c.guest.netns, ...(c.spec.mac ? { address: c.spec.mac } : {}) });
        c.guestLink = link;
        const undo = deleteIfPresent(c.gh, link.index);
        try {
          await c.gh.link.set(link.index, { alias: aliasFor(c) });
        } catch (e) {
          await undo();
          throw e;
        }
        return undo;
      },
    });
  } else {
    steps.push({
      describe: `move ${ctx.hostIfName} into guest ${where} as ${g}`,
      undo: `move ${g} back to the host as ${ctx.hostIfName}`,
      run: async (c) => {
        const original = c.hostIfLink!.name;
        await c.host.link.set(c.hostIfLink!.index, { netns: c.guest.netns, name: g, alias: physAlias(c.spec.owner, original) });
        const moved = await c.gh.link.get(g);
        c.guestLink = moved;
        c.guestIndex = moved.index;
        return async () => {
          const home = c.host.netns ?? (await Netns.current());
          try {
            await c.gh.link.set(moved.index, { up: false, netns: home, name: original, alias: '' });
          } finally {
            if (!c.host.netns) await home.close();
          }
        };
      },
    });
    if (spec.mac) {
      steps.push({
        describe: `set ${g}'s MAC to ${spec.mac}`,
        run: async (c) => {
          await c.gh.link.set(g, { address: c.spec.mac! });
        },
      });
    }
  }

  // The guest's settings are one request each: runSteps sends them in one hop (transaction.ts).
  if (spec.address) {
    const a = spec.address;
    const brd = a.broadcast;
    steps.push(
      requestStep({
        describe: `add ${a.address}/${a.prefixLen}${brd ? ` (broadcast ${brd})` : ''} to ${g} in the guest`,
        request: (c) => ({ via: c.gh, call: { op: 'addr.add', args: addrArgs(guestRef(c), a, brd ? { broadcast: brd } : {}) } }),
      }),
    );
  }
  // Before the up: an interface makes its link-local address as it comes up.
  const linkLocal = linkLocalStep(g, spec.ipv6LinkLocal, ctx.guestSettings);
  if (linkLocal) steps.push(linkLocal);
  steps.push(
    requestStep({
      describe: `bring ${g} up in the guest`,
      request: (c) => ({ via: c.gh, call: { op: 'link.set', args: linkSetArgs(guestRef(c), { up: true }) } }),
    }),
  );
  if (spec.gateway) {
    const gw = spec.gateway;
    if (spec.gatewayOnLink) {
      steps.push(
        requestStep({
          describe: `add route ${gw.address}/${gw.family === 4 ? 32 : 128} dev ${g} scope link (the gateway is outside ${spec.address ? `${spec.address.address}/${spec.address.prefixLen}` : 'the subnet'})`,
          request: (c) => ({ via: c.gh, call: { op: 'route.replace', args: routeArgs({ dst: gw.address, dev: guestRef(c), scope: 'link' }) } }),
        }),
      );
    }
    steps.push(
      requestStep({
        describe: `set the default route via ${gw.address} dev ${g} (replacing any)`,
        undo: 'restore the previous default route',
        // A guest without a default route (the usual case) takes it in one
        // request; only one that has a default reads it first, for the undo.
        request: (c) => {
          const route = { dst: 'default', gateway: gw.address, dev: guestRef(c) };
          return {
            via: c.gh,
            call: { op: 'route.add', args: routeArgs(route) },
            failed: async (e) => {
              if (!isNetlinkError(e, 'EEXIST')) throw e;
              return replaceDefault(c, route, gw.family);
            },
          };
        },
      }),
    );
  }
  // The caller's own settings (the CNI ADD's addresses and routes), in the same hop, after the interface is up.
  if (ctx.guestSettings) steps.push(guestSettingsStep(ctx.guestSettings, g));
  if (spec.dhcp) {
    const d = spec.dhcp;
    steps.push({
      describe: `run ${d.client}${d.foreground ? ' (kept running)' : ''} for ${g} inside the guest, with a private resolv.conf; wait for a lease`,
      undo: `stop the ${d.client} client`,
      run: async (c) => {
        const { runDhcp } = await import('../dhcp'); // lazy: see checkDhcpClient above
        c.leaveAdmission?.(); // a lease can take seconds: others need not wait for it
        const lease = await runDhcp(c.guest, g, d);
        c.lease = lease;
        return lease.stop;
      },
    });
  }
  // The announcement starts from the host end's port state as verification
  // read it, after the guest end came up.
  const announces = spec.address?.family === 4 && spec.arp;
  steps.push({
    describe: 'verify: read back the host end, the guest interface, its addresses and routes',
    // The guest's reads are asked with the guest's last requests, in their hop (transaction.ts ReadAhead).
    readAhead: (c) => verifyReads(c),
    run: async (c) => {
      await verify(c);
      // Verified: the journal entry's 'complete' write overlaps what follows.
      c.journal?.complete(completedFields(c));
    },
  });
  if (announces) {
    // After verification: see announce.ts.
    steps.push({
      describe: `announce ${spec.address.address} with a gratuitous ARP from ${g}`,
      run: announce,
    });
  }
  return { mode: ctx.mode, steps, alreadyInPlace: false };
}
