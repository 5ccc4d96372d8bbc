// attach(): pipework's operation as a transaction. Resolve and validate the
// guest and the host interface before creating anything; create the veth
// (host end UP and enslaved, peer born in the guest under its final name) in
// one request; configure the guest; read everything back. Any failure undoes
// what this attach created, in reverse, before the error is thrown.
import { Handle } from '../../core/handle';
import { PipewrightError } from '../../core/errors';
import { resolveGuest } from '../guest';
import { runSteps, StepError } from '../transaction';
import type { Link } from '../../core/types';
import { buildSpec, type AttachSpec, type NormalizedSpec } from './spec';
import { admission } from './admission';
import { chooseHostEndName, hostIfMode, inspectHostIf, makePlan, type Plan } from './plan';
import { AlreadyInPlace } from './existing';
import type { Ctx, AttachMode } from './context';
import { bridgeFirewallWarning } from '../firewall';
import { watchPort, PortIncident } from './watch-port';
import type { DhcpLease } from '../dhcp';
import { recordAttach, completedFields } from './record';
import { entryFileName, netnsCookie, type AttachmentRecord } from '../ownership';
import type { GuestSettings } from './guest-settings';

export interface AttachResult {
  status: 'attached' | 'already-attached';
  mode: AttachMode;
  hostIf: { name: string; index: number; kind: string | null; created: boolean };
  hostEnd?: { name: string; index: number; up: boolean; master: number | null };
  guest: {
    ref: string;
    netns: string;
    pid?: number;
    container?: { id: string; name: string };
    ifname: string;
    index: number;
    mac?: string;
    mtu?: number;
    addresses: string[];
    gateway?: string;
  };
  /**
   * The lease. resolvConf is the guest's own file (in the state dir);
   * netnsResolvConf, for a named namespace, the link to it that `ip netns
   * exec NAME` uses; resolvConfUse says how the guest gets to use it.
   */
  dhcp?: Omit<DhcpLease, 'stop'>;
  /** What was done, in order (empty when already attached). */
  steps: string[];
  warnings: string[];
  /** Whatever undid the attachment: found (and repaired) at verification with `repair`, or while it was watched (watchMs). */
  incidents?: PortIncident[];
}

export interface PlanResult {
  mode: AttachMode;
  alreadyInPlace: boolean;
  steps: string[];
  /** The undo plan, in the order it would run. */
  undo: string[];
}

/** A step failed, or verification did; what this attach created has been removed (or is listed). */
export class AttachError extends PipewrightError {
  constructor(
    code: 'ERR_PW_ATTACH_FAILED' | 'ERR_PW_VERIFY_FAILED',
    message: string,
    readonly step: string,
    readonly undone: string[],
    readonly leftBehind: string[],
    cause: unknown,
  ) {
    super(code, message, { cause });
    this.name = 'AttachError';
  }
}

/**
 * Attaches to one bridge that run at the same time share one firewall check.
 * The check is native (~0.1 ms), but when FORWARD drops it runs `iptables
 * -S`, a process forked on the event loop's thread: 200 attaches at once
 * would fork 200 of them, which starved the event loop (delays of hundreds
 * of ms, measured in bench/eventloop.js). Only a check still in flight is
 * shared; a later attach checks afresh.
 */
const firewallChecks = new Map<string, Promise<string | null>>();

function firewallWarning(host: Handle, bridge: string): Promise<string | null> {
  const key = `${host.netns?.id ?? 'self'}/${bridge}`;
  let check = firewallChecks.get(key);
  if (!check) {
    check = bridgeFirewallWarning(host, bridge).finally(() => firewallChecks.delete(key));
    firewallChecks.set(key, check);
  }
  return check;
}

async function open(s: NormalizedSpec): Promise<Ctx & { ownsHost: boolean }> {
  const spec = s;
  // Independent lookups run together: each is a round trip to an addon
  // thread, and a one-guest CLI run feels every one of them. The host
  // interface is looked up as soon as the host handle is there (at once
  // when the caller gave one), beside the guest's resolution.
  const hostP = spec.host ? Promise.resolve({ handle: spec.host, owned: false }) : Handle.open().then((handle) => ({ handle, owned: true }));
  const foundP = spec.hostIfLink ? hostP.then((h) => hostIfMode(h.handle, s, spec.hostIfLink as Link, spec.hostIf)) : hostP.then((h) => inspectHostIf(h.handle, s));
  const guestP = resolveGuest(spec.guest, spec.runDir !== undefined ? { runDir: spec.runDir, forHandle: true } : { forHandle: true }).then(async (guest) => {
    try {
      return { guest, gh: spec.guestHandle ?? (await Handle.open(guest.netns)) };
    } catch (e) {
      if (guest.owned) await guest.netns.close();
      throw e;
    }
  });
  const [hostR, guestR, foundR] = await Promise.allSettled([hostP, guestP, foundP]);
  if (hostR.status === 'rejected' || guestR.status === 'rejected' || foundR.status === 'rejected') {
    if (hostR.status === 'fulfilled' && hostR.value.owned) await hostR.value.handle.close();
    if (guestR.status === 'fulfilled') {
      if (!spec.guestHandle) await guestR.value.gh.close();
      if (guestR.value.guest.owned) await guestR.value.guest.netns.close();
    }
    // The same error as when each waited for the one before: the host's, the guest's, then the host interface's.
    throw hostR.status === 'rejected' ? hostR.reason : guestR.status === 'rejected' ? guestR.reason : (foundR as PromiseRejectedResult).reason;
  }
  const { handle: host, owned: ownsHost } = hostR.value;
  const { guest, gh } = guestR.value;
  const found = foundR.value;
  const mtu = s.mtu ?? found.link?.mtu ?? 1500;
  return { host, gh, guest, spec: s, mode: found.mode, hostIfLink: found.link, hostIfName: found.name, mtu, warnings: [], ownsHost };
}

async function close(ctx: Ctx & { ownsHost: boolean }): Promise<void> {
  if (!ctx.spec.guestHandle) await ctx.gh.close();
  if (ctx.guest.owned) await ctx.guest.netns.close();
  if (ctx.ownsHost) await ctx.host.close();
}

/** The ordered plan and its undo plan, from read-only lookups: nothing is changed. */
export async function planAttach(spec: AttachSpec | NormalizedSpec): Promise<PlanResult> {
  const ctx = await open(buildSpec(spec));
  try {
    const plan = await makePlan(ctx);
    return {
      mode: plan.mode,
      alreadyInPlace: plan.alreadyInPlace,
      steps: plan.steps.map((s) => s.describe),
      undo: plan.steps.filter((s) => s.undo).map((s) => s.undo!).reverse(),
    };
  } finally {
    await close(ctx);
  }
}

function summarize(ctx: Ctx, status: AttachResult['status'], steps: string[], createdHostIf: boolean, addresses: string[]): AttachResult {
  const gl = ctx.guestLink as Link;
  const r: AttachResult = {
    status,
    mode: ctx.mode,
    hostIf: { name: ctx.hostIfName, index: ctx.hostIfLink?.index ?? 0, kind: ctx.hostIfLink?.kind ?? null, created: createdHostIf },
    guest: {
      ref: ctx.guest.label,
      netns: ctx.guest.netns.id,
      ...(ctx.guest.pid !== undefined ? { pid: ctx.guest.pid } : {}),
      ...(ctx.guest.container ? { container: ctx.guest.container } : {}),
      ifname: gl.name,
      index: gl.index,
      ...(gl.address ? { mac: gl.address } : {}),
      ...(gl.mtu ? { mtu: gl.mtu } : {}),
      addresses,
      ...(ctx.spec.gateway ? { gateway: ctx.spec.gateway.address } : {}),
    },
    steps,
    warnings: ctx.warnings,
  };
  if (ctx.hostEnd) r.hostEnd = { name: ctx.hostEnd.name, index: ctx.hostEnd.index, up: ctx.hostEnd.up, master: ctx.hostEnd.master };
  if (ctx.lease) {
    const { stop: _stop, ...lease } = ctx.lease;
    r.dhcp = lease;
  }
  return r;
}

/** A step failed and was rolled back: the error that says which, and what became of what it made. */
function attachError(e: StepError): AttachError {
  const verifying = e.step.startsWith('verify');
  const cause = e.cause as { message?: string };
  const tail = e.rollback.leftBehind.length
    ? `; rolled back, but LEFT BEHIND: ${e.rollback.leftBehind.join('; ')} ('pipewright gc' removes them: the journal keeps the entry)`
    : `; rolled back (${e.rollback.undone.length ? e.rollback.undone.join(', ') : 'nothing had been created'}): nothing was left behind`;
  return new AttachError(
    verifying ? 'ERR_PW_VERIFY_FAILED' : 'ERR_PW_ATTACH_FAILED',
    `attach failed at step "${e.step}": ${cause?.message ?? String(e.cause)}${tail}`,
    e.step,
    e.rollback.undone,
    e.rollback.leftBehind,
    e.cause,
  );
}

/**
 * Attaches a guest to a host interface, pipework-style. Re-running the same
 * attach is safe: an identical attachment is reported as 'already-attached';
 * a different one is an ERR_PW_CONFLICT naming the difference.
 */
export async function attach(spec: AttachSpec | NormalizedSpec): Promise<AttachResult> {
  return (await admit(spec, {})).result;
}

/** How attachUnsettled fits into its caller's work. */
export interface UnsettledOptions {
  /**
   * Settles before the first change (the caller's own record of what is
   * about to happen): the look-ups, the plan and the journal entry go on
   * meanwhile. Should it reject, nothing is changed, the journal entry goes,
   * and the attach fails with its error.
   */
  firstChangeAfter?: Promise<unknown>;
  /**
   * Addresses and routes for the guest interface, known later (IPAM's,
   * beside the attach): added in the hop that brings the interface up, and
   * verified with it (guest-settings.ts). Should it reject, the attach fails
   * with its error and is rolled back.
   */
  guestSettings?: Promise<GuestSettings>;
  /** Bridge mode: the bridge is read again with verification (its MAC follows its ports) and handed back in `links`. */
  readHostIf?: boolean;
}

/** attachUnsettled's answer. */
export interface Unsettled {
  result: AttachResult;
  /** The journal entry's 'complete' write: a warning, or null. */
  settled: Promise<string | null>;
  /**
   * The host end (read after the guest end came up, so its port state is
   * current) and, with readHostIf, the bridge, as verification read them;
   * absent when the attachment was found in place.
   */
  links: { hostEnd?: Link; hostIf?: Link };
}

/**
 * attach, for a caller with more to do before it answers (the CNI ADD):
 * the journal entry's 'complete' write is handed back still on its way
 * (`settled`: a warning, or null), so that it overlaps the caller's work.
 * The caller must await it before it answers, and before it undoes the
 * attachment, which would otherwise race the write. With watchMs it is
 * awaited here, as attach does.
 */
export async function attachUnsettled(spec: AttachSpec | NormalizedSpec, opts: UnsettledOptions = {}): Promise<Unsettled> {
  return admit(spec, { defer: true, ...opts });
}

async function admit(spec: AttachSpec | NormalizedSpec, opts: UnsettledOptions & { defer?: boolean }): Promise<Unsettled> {
  // The spec is read now, as it was handed over (a built one is taken as
  // it is); the work waits its turn (admission.ts).
  const s = buildSpec(spec);
  const leave = await admission();
  try {
    return await admitted(s, leave, opts);
  } finally {
    leave();
  }
}

async function admitted(s: NormalizedSpec, leave: () => void, opts: UnsettledOptions & { defer?: boolean }): Promise<Unsettled> {
  const ctx = await open(s);
  ctx.leaveAdmission = leave;
  if (opts.guestSettings) ctx.guestSettings = opts.guestSettings;
  if (opts.readHostIf) ctx.readHostIf = true;
  // Asked now, beside the plan's lookups: the journal entry and the plan's
  // reading of the journal need it (a kernel without SO_NETNS_COOKIE: unknown).
  ctx.guestCookie = netnsCookie(ctx.gh).catch(() => undefined);
  ctx.hostCookie = netnsCookie(ctx.host).catch(() => undefined);
  let firewall: Promise<string | null> = Promise.resolve(null);
  let settled: Promise<string | null> = Promise.resolve(null);
  try {
    const createdHostIf = ctx.hostIfLink === null;
    // Read-only and independent of what the steps do (rules name the bridge,
    // they do not need it to exist): started now, awaited at the end.
    if (ctx.mode === 'bridge') firewall = firewallWarning(ctx.host, ctx.hostIfName).catch((e: Error) => `could not check the firewall: ${e.message}`);
    // The journal entry and the shared lock come before the first change
    // (../ownership): a crash from then on is a crashed attach gc can undo.
    // Its file is chosen now, so that the plan's reading of the journal can
    // tell it from another attach's. In bridge mode everything the entry
    // says is known before the plan's look-ups, so it is written beside
    // them; a plan that finds the attachment in place, or refuses it, then
    // abandons it (nothing was changed).
    ctx.journalFile = entryFileName(ctx.guest.netns.id, s.guestIf);
    let early: Promise<AttachmentRecord> | null = null;
    if (ctx.mode === 'bridge') {
      chooseHostEndName(ctx);
      early = recordAttach(ctx);
      early.catch(() => undefined); // judged after the plan
    }
    const abandonEarly = async () => {
      await early?.then((j) => j.abandon(), () => undefined).catch(() => undefined);
    };
    let plan: Plan;
    try {
      plan = await makePlan(ctx);
    } catch (e) {
      await abandonEarly();
      throw e;
    }
    let steps: string[] = [];
    let inPlace = plan.alreadyInPlace;
    if (inPlace) await abandonEarly();
    else {
      try {
        ctx.journal = await (early ?? recordAttach(ctx));
      } catch (e) {
        throw new AttachError('ERR_PW_ATTACH_FAILED', `attach failed at step "record the attachment in the journal": ${(e as Error).message}; nothing had been created`, 'record the attachment in the journal', [], [], e);
      }
      if (opts.firstChangeAfter) {
        try {
          await opts.firstChangeAfter;
        } catch (e) {
          // The caller's own failure: nothing was changed, so the entry goes.
          await ctx.journal.failed([]).catch(() => undefined);
          throw e;
        }
      }
      try {
        steps = (await runSteps(plan.steps, ctx)).completed;
      } catch (e) {
        if (!(e instanceof StepError)) {
          await ctx.journal.failed([]).catch(() => undefined);
          throw e;
        }
        // No leftovers: the entry goes. Leftovers: it stays, 'failed', for gc.
        await ctx.journal.failed(e.rollback.leftBehind).catch(() => undefined);
        // A race lost to a concurrent attach (plan.ts, lostRace): what this
        // one made is undone, and the winner's attachment is what is there.
        const lost = e.rollback.leftBehind.length === 0 ? e.cause : null;
        if (lost instanceof PipewrightError && lost.code === 'ERR_PW_CONFLICT') throw lost;
        if (lost instanceof AlreadyInPlace) inPlace = true;
        else throw attachError(e);
      }
      if (!inPlace) {
        const completing = ctx.journal.settled(completedFields(ctx));
        if (opts.defer && !(ctx.spec.watchMs > 0)) {
          settled = completing;
          completing.catch(() => undefined); // the caller's to judge
        }
        else {
          const warning = await completing;
          if (warning) ctx.warnings.push(warning);
        }
      }
    }
    // From here on the attachment exists and is verified: nothing below may
    // turn that into an error; what fails here becomes a warning.
    if (inPlace) {
      ctx.guestLink = await ctx.gh.link.get(ctx.spec.guestIf);
      ctx.addresses = (await ctx.gh.addr.list({ dev: ctx.guestLink.index })).map((a) => `${a.address}/${a.prefixLen}`);
    }
    const w = await firewall;
    if (w) ctx.warnings.push(w);
    const result = summarize(ctx, inPlace ? 'already-attached' : 'attached', steps, createdHostIf && !inPlace, ctx.addresses ?? []);
    if (ctx.incidents?.length) result.incidents = [...ctx.incidents];
    if (ctx.spec.watchMs > 0 && ctx.mode === 'bridge' && ctx.hostEnd) {
      leave(); // watching waits on the kernel's events, for as long as asked
      try {
        // The name it was given (a re-run: the name it has), followed by index.
        const port = { index: ctx.hostEnd.index, name: inPlace ? ctx.hostEnd.name : ctx.hostEndName! };
        const watched = await watchPort(ctx.host, port, ctx.hostIfLink!.index, ctx.spec.watchMs, ctx.spec.repair, ctx.spec.watchSignal);
        result.incidents = [...(result.incidents ?? []), ...watched.incidents];
        if (result.hostEnd) result.hostEnd.name = watched.name;
      } catch (e) {
        result.warnings.push(`could not watch ${ctx.hostEnd.name}: ${(e as Error).message}`);
      }
    }
    return { result, settled, links: inPlace ? {} : { ...(ctx.hostEnd ? { hostEnd: ctx.hostEnd } : {}), ...(ctx.hostIfRead ? { hostIf: ctx.hostIfRead } : {}) } };
  } finally {
    await close(ctx);
    // Also when the attach failed: nothing it started (the check runs on an
    // addon thread inside the host's namespace, maybe iptables) may run on
    // after it has settled, where a caller's "nothing left" check would see it.
    await firewall;
  }
}
