// attach's entry in the ownership journal (lib/ops/ownership): what the plan is
// about to create, written before the first step runs, and what was created,
// written after verification. Only an attach that changes something writes
// one: an attachment already in place, a dry run and a plan write nothing.
import type { Ctx } from './context';
import type { NormalizedSpec } from './spec';
import { AttachmentRecord, guestRecordOf, netnsIdOf, ownerAlias, physAlias } from '../ownership';
import type { AttachmentEntry, RecordedSpec } from '../ownership';

/** The spec as the journal keeps it; hostEnd: the name given or chosen (ctx.hostEndName). */
function recordedSpec(s: NormalizedSpec, hostEnd: string | undefined): RecordedSpec {
  return {
    hostIf: s.hostIf,
    guestIf: s.guestIf,
    ...(hostEnd !== undefined ? { hostEnd } : {}),
    ...(s.address ? { address: `${s.address.address}/${s.address.prefixLen}` } : {}),
    ...(s.gateway ? { gateway: s.gateway.address } : {}),
    ...(s.mac !== undefined ? { mac: s.mac } : {}),
    ...(s.vlan !== undefined ? { vlan: s.vlan } : {}),
    directPhys: s.directPhys,
    ...(s.mtu !== undefined ? { mtu: s.mtu } : {}),
    ...(s.dhcp ? { dhcp: { client: s.dhcp.client, foreground: s.dhcp.foreground, options: [...s.dhcp.options], timeoutMs: s.dhcp.timeoutMs } } : {}),
    arp: s.arp,
    owner: s.owner,
    group: s.group,
  };
}

async function cookieOf(ctx: Ctx): Promise<{ guestCookie?: string; hostCookie?: string }> {
  const [guest, host] = await Promise.all([ctx.guestCookie, ctx.hostCookie]);
  return { ...(guest !== undefined ? { guestCookie: guest } : {}), ...(host !== undefined ? { hostCookie: host } : {}) };
}

/** Takes the host namespace's shared lock and writes the entry 'in-progress' (as ctx.journalFile, when chosen). */
export async function recordAttach(ctx: Ctx): Promise<AttachmentRecord> {
  const s = ctx.spec;
  const vlanName = ctx.mode === 'macvlan' && s.vlan !== undefined && !ctx.vlanLink ? `${ctx.hostIfName}.${s.vlan}`.slice(0, 15) : undefined;
  return AttachmentRecord.begin({
    owner: s.owner,
    hostNetns: await netnsIdOf(ctx.host),
    guestNetns: ctx.guest.netns.id,
    ...(await cookieOf(ctx)),
    guestIf: s.guestIf,
    mode: ctx.mode,
    hostIf: ctx.hostIfName,
    createsBridge: ctx.mode === 'bridge' && ctx.hostIfLink === null,
    ...(ctx.mode === 'bridge' && ctx.hostEndName ? { hostEnd: ctx.hostEndName } : {}),
    group: s.group,
    alias: ctx.mode === 'direct-phys' ? physAlias(s.owner, ctx.hostIfName) : ownerAlias(s.owner, ctx.guest.netns.id, s.guestIf),
    guest: guestRecordOf(ctx.guest),
    spec: recordedSpec(s, ctx.hostEndName ?? s.hostEnd),
    ...(ctx.hostIfLink ? { hostIfIndex: ctx.hostIfLink.index } : {}),
    ...(vlanName ? { createsVlan: vlanName } : {}),
    ...(ctx.mode === 'macvlan' && ctx.hostIfLink && !ctx.hostIfLink.up ? { bringsHostIfUp: true } : {}),
  }, ctx.journalFile);
}

/** What verification established, for the 'complete' entry. */
export function completedFields(ctx: Ctx): Partial<AttachmentEntry> {
  return {
    ...(ctx.hostEnd ? { hostEndIndex: ctx.hostEnd.index } : {}),
    ...(ctx.guestLink ? { guestIndex: ctx.guestLink.index } : {}),
    ...(ctx.hostIfLink ? { hostIfIndex: ctx.hostIfLink.index } : {}),
  };
}
