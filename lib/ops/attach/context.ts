// What an attach knows as it goes: filled by inspection, then by each step
// (plan.ts), read by verification and the announcement.
import type { Handle } from '../../core/handle';
import type { Address, Link, Route } from '../../core/types';
import type { ResolvedGuest } from '../guest';
import type { NormalizedSpec } from './spec';
import type { DhcpLease } from '../dhcp';
import type { PortIncident } from './watch-port';
import type { AttachmentRecord } from '../ownership';
import type { GuestSettings } from './guest-settings';

export type AttachMode = 'bridge' | 'macvlan' | 'direct-phys';

export interface Ctx {
  host: Handle;
  gh: Handle;
  guest: ResolvedGuest;
  spec: NormalizedSpec;
  mode: AttachMode;
  /** The host interface as found (null: a bridge this attach creates). */
  hostIfLink: Link | null;
  hostIfName: string;
  mtu: number;
  /**
   * The host end's name (bridge mode): the one given (spec.hostEnd), or the
   * one the plan chose (v<guestIf>pl<pid>). The spec is frozen; what is
   * decided while planning lives here.
   */
  hostEndName?: string;
  hostEnd?: Link;
  /**
   * The guest interface's index inside the guest, once a step knows it (a
   * veth's host end names its peer's index): later steps then address it by
   * index, not by a name the kernel would have to look up for each of them.
   */
  guestIndex?: number;
  guestLink?: Link;
  /** The guest interface's addresses as verification read them. */
  addresses?: string[];
  /** Verification's reads, answered ahead of it (verify.ts verifyReads); taken by verify(). */
  readBack?: {
    guest?: [Link | null, Address[], Route[]];
    hostIf?: Link | null;
  };
  /** The caller's addresses and routes for the guest interface (guest-settings.ts), added in the hop that brings it up. */
  guestSettings?: Promise<GuestSettings>;
  /** The guest interface was told to make no IPv6 link-local address (link-local.ts): verification checks it still makes none. */
  linkLocalOff?: boolean;
  /** Bridge mode: read the host interface again with verification (its MAC follows its ports), into hostIfRead. */
  readHostIf?: boolean;
  hostIfRead?: Link;
  vlanLink?: Link;
  lease?: DhcpLease;
  warnings: string[];
  /** What verification found undone and repaired (spec.repair). */
  incidents?: PortIncident[];
  /** Gives up this attach's place among the active ones (admission.ts) before a long outside wait. */
  leaveAdmission?: () => void;
  /** This attach's journal entry (record.ts), while its steps run. */
  journal?: AttachmentRecord;
  /** The file of that entry, when chosen before it is written (written beside the plan: index.ts). */
  journalFile?: string;
  /** The guest namespace's cookie (../ownership/cookie.ts), asked for as the attach starts. */
  guestCookie?: Promise<string | undefined>;
  /** The host namespace's cookie, likewise. */
  hostCookie?: Promise<string | undefined>;
}

/** The guest interface as later steps name it: by index once known, else by name. */
export function guestRef(c: Ctx): string | number {
  return c.guestIndex ?? c.spec.guestIf;
}
